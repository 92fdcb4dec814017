"""The TypeScript SDK's client, the other client most hosts are built on, against `serve --transport http`.

What the Python client tolerates, the TypeScript one may report: it logs "unknown message ID" for any
answer to a request it cancelled. The SDK is pinned in package.json / package-lock.json and installed
with `npm ci`; without it these tests skip, and CHUTES_MCP_REQUIRE_INSPECTOR=1 (CI's Node step) makes
that a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx2
import pytest
from http_support import http_server
from sim_process import SimProcess

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "@modelcontextprotocol/sdk"
SCRIPT = Path(__file__).with_name("ts_cancel_chat.mjs")


@pytest.fixture(scope="module")
def node() -> str:
    """Node, with the pinned TypeScript SDK installed; or a skip (a failure in CI) saying what is missing."""
    pinned = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["devDependencies"][PACKAGE]
    manifest = ROOT / "node_modules" / PACKAGE / "package.json"
    installed = json.loads(manifest.read_text(encoding="utf-8"))["version"] if manifest.exists() else None
    # `npm ci` brings Node 22 on Linux x64; elsewhere, the Node on PATH.
    binary = shutil.which("node", path=str(ROOT / "node_modules" / ".bin")) or shutil.which("node")
    problem = None
    if binary is None:
        problem = "node is not on PATH: install Node.js (20 or newer) with npm, then run `npm ci`"
    elif installed != pinned:
        problem = f"{PACKAGE} {pinned} is not installed (found {installed}): run `npm ci` in {ROOT}"
    if problem is not None:
        if os.environ.get("CHUTES_MCP_REQUIRE_INSPECTOR") == "1":
            pytest.fail(f"CHUTES_MCP_REQUIRE_INSPECTOR=1, but {problem}")
        pytest.skip(problem)
    assert binary is not None
    return binary


def test_a_cancelled_chat_stops_upstream_and_gets_no_late_answer(
    node: str, sim: SimProcess, tmp_path: Path
) -> None:
    # At least 20 tokens at 5 a second: the answer would run 4 s or more; the client waits 6 s.
    httpx2.patch(f"{sim.url}/_sim/config", json={"tokens_per_s": 5}).raise_for_status()
    with http_server(sim, tmp_path) as server:
        done = subprocess.run(
            [node, str(SCRIPT), server.url, "unsloth/Mistral-Nemo-Instruct-2407"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["protocol"] == "2025-11-25"
    assert seen["sessionId"]  # issued at initialize, so the cancel names this client's call
    assert seen["outcome"].startswith("rejected:"), seen
    assert "cancelled by the user" in seen["outcome"]
    assert seen["errors"] == []  # no "Received a response for an unknown message ID"
    streams = sim.stats()["streams"]
    assert (streams["closed_early"], streams["completed"]) == (1, 0)
