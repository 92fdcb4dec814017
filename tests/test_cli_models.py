"""`chutes-mcp models` and `chutes-mcp pick` as users run them: real processes, an empty cache directory,
and either no network at all or the simulator as Chutes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sim_process import SimProcess

REPO = Path(__file__).resolve().parents[1]
NO_NETWORK = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


def _run(tmp_path: Path, *args: str, api_base: str = NO_NETWORK) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHUTES_")}
    env["CHUTES_CACHE_DIR"] = str(tmp_path)  # an empty cache: no saved catalog
    env["CHUTES_API_BASE"] = api_base
    env["CHUTES_MAX_RETRIES"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "chutes_mcp", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_models_tee_only_json_lists_the_21_tee_models_from_the_bundled_snapshot(tmp_path: Path) -> None:
    result = _run(tmp_path, "models", "--tee-only", "--json")
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert (listing["source"], listing["count"], len(listing["models"])) == ("bundled", 21, 21)
    assert all(model["tee"] is True for model in listing["models"])
    assert listing["fetched_at"].startswith("2026-02-18")


def test_models_table(tmp_path: Path) -> None:
    result = _run(tmp_path, "models", "--feature", "tools", "--feature", "reasoning")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "TEE", "CONTEXT"]
    assert any(line.startswith("zai-org/GLM-4.7-TEE ") for line in lines)
    assert not any(line.startswith("deepseek-ai/DeepSeek-V3-0324-TEE ") for line in lines)  # no reasoning
    assert "source bundled" in lines[-1]


@pytest.mark.parametrize("task", ["general", "private", "vision"])
def test_pick_json(tmp_path: Path, task: str) -> None:
    result = _run(tmp_path, "pick", "--task", task, "--tee-only", "--json")
    assert result.returncode == 0, result.stderr
    picked = json.loads(result.stdout)
    assert picked["task"] == task
    assert picked["routing"] == ",".join(pick["id"] for pick in picked["picks"])
    assert all(pick["tee"] for pick in picked["picks"])


def test_pick_table_ends_with_the_routing_string(tmp_path: Path) -> None:
    result = _run(tmp_path, "pick", "--task", "coding", "-k", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("routing: ")
    assert result.stdout.splitlines()[-1].count(",") == 1


@pytest.mark.parametrize(
    "args", [("pick", "--task", "poetry"), ("models", "--feature", "vision"), ("pick", "-k", "0")]
)
def test_bad_arguments_exit_2_with_a_message(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = _run(tmp_path, *args)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_models_reads_the_live_catalog_and_saves_it(sim: SimProcess, tmp_path: Path) -> None:
    result = _run(tmp_path, "models", "--tee-only", "--json", api_base=sim.llm_base)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert (listing["source"], listing["count"], listing["stale"]) == ("live", 21, False)
    assert (tmp_path / "models.json").exists()
