"""`chutes-mcp doctor` as users run it, against the simulator and against nothing at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mcp_support import server_env
from sim_process import SimProcess

DEAD = "http://127.0.0.1:9"  # nothing listens on the discard port


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chutes_mcp", "doctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_working_setup_is_all_good(sim: SimProcess, tmp_path: Path) -> None:
    result = doctor(server_env(sim, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "all good"
    assert any(line.startswith("ok  credential accepted: signed in as sim-") for line in lines)
    assert any(line.startswith("ok  model catalog: 61 models from live") for line in lines)


def test_problems_are_named_with_what_to_do(sim: SimProcess, tmp_path: Path) -> None:
    env = server_env(
        sim,
        tmp_path,
        CHUTES_API_KEY="cpk_not-a-real-key",
        CHUTES_API_BASE=f"{DEAD}/v1",
        CHUTES_EMBED_BASE=f"{DEAD}/v1",
        CHUTES_MANAGEMENT_BASE=DEAD,
    )
    result = doctor(env)
    assert result.returncode == 1
    out = result.stdout
    assert "FIX credential: CHUTES_API_KEY does not look like a Chutes key" in out
    assert (
        "FIX llm host: http://127.0.0.1:9/v1/models: ConnectError calling 127.0.0.1: connection refused"
        in out
    )
    assert "FIX embed host: ConnectError calling http://127.0.0.1:9/v1/embeddings: connection refused" in out
    assert "-> Nothing accepts connections there" in out
    assert "FIX model catalog: 61 models from bundled" in out
    assert "    -> " in out
    assert "cpk_not-a-real-key" not in out + result.stderr
    assert out.splitlines()[-1].endswith("problem(s) to fix")


def test_an_invalid_setting_is_reported_as_a_configuration_error(tmp_path: Path) -> None:
    result = doctor({"PATH": "/usr/bin:/bin", "CHUTES_MAX_RETRIES": "99", "CHUTES_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "FIX configuration" in result.stdout
    assert "CHUTES_MAX_RETRIES" in result.stdout


def test_each_host_is_judged_by_its_real_answer(sim: SimProcess, tmp_path: Path) -> None:
    """An embed host that does not know the embedding model is a problem, not "it answered 404"."""
    result = doctor(server_env(sim, tmp_path, CHUTES_DEFAULT_EMBEDDING_MODEL="no-such/embedder"))
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("FIX embed host: ") and "HTTP 404: model not found: no-such/embedder" in line
        for line in lines
    ), result.stdout
    assert any(line.startswith("ok  llm host: ") and "listed 61 models" in line for line in lines)
    assert "CHUTES_DEFAULT_EMBEDDING_MODEL" in result.stdout


def test_sim_runs_the_checks_against_an_embedded_simulator(tmp_path: Path) -> None:
    result = doctor({"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, "--sim")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "all good"
    assert "ok  embed host: " in result.stdout
