"""The MCP Inspector CLI, the reference client in Node, against `chutes-mcp serve --sim`.

A second, independent client implementation: what the Python SDK's client accepts, another client
might not. The Inspector itself spawns `python -m chutes_mcp serve --sim` over stdio (the embedded
simulator: no key, no network, no other process), once per call.

The Inspector is pinned in package.json / package-lock.json and installed with `npm ci` (on Linux x64
that also brings the Node 22 it declares it needs, as `node_modules/.bin/node`, which npx puts first on
PATH). Without it these tests skip; CI sets CHUTES_MCP_REQUIRE_NODE_TOOLS=1, which makes a missing
Inspector a failure instead (see node_support).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from typing import Any

import pytest
from node_support import ROOT, install_problem, unavailable

PACKAGE = "@modelcontextprotocol/inspector"
SERVER = (sys.executable, "-m", "chutes_mcp", "serve", "--sim")
# Exit codes of the Inspector CLI.
OK, TOOL_IS_ERROR = 0, 5


@pytest.fixture(scope="module")
def inspector() -> list[str]:
    """The command that runs the pinned Inspector CLI, or a skip (a failure in CI) saying what is missing."""
    npx = shutil.which("npx")
    if npx is None:
        unavailable("npx is not on PATH: install Node.js (20 or newer) with npm, then run `npm ci`")
    problem = install_problem(PACKAGE)
    if problem is not None:
        unavailable(problem)
    # --no-install: the pinned local copy or nothing, never whatever the registry has today.
    return [npx, "--no-install", PACKAGE, "--cli"]


def run_inspector(
    inspector: list[str], *options: str, era: str = "legacy", expect: int = OK
) -> dict[str, Any]:
    """One Inspector CLI run; returns its JSON result. `--` keeps the server's own flags its own."""
    completed = subprocess.run(
        [*inspector, "--format", "json", "-q", "--protocol-era", era, *options, "--", *SERVER],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    described = f"exit {completed.returncode}\nstdout: {completed.stdout}\nstderr: {completed.stderr}"
    assert completed.returncode == expect, described
    payload: dict[str, Any] = json.loads(completed.stdout)
    assert "result" in payload, described
    result: dict[str, Any] = payload["result"]
    return result


def call_tool(inspector: list[str], name: str, *args: str, era: str = "legacy") -> dict[str, Any]:
    tool_args = ["--tool-arg", *args] if args else []
    result = run_inspector(inspector, "--method", "tools/call", "--tool-name", name, *tool_args, era=era)
    assert result["isError"] is False, result
    assert result["content"][0]["type"] == "text"
    assert result["content"][0]["text"]
    structured: dict[str, Any] = result["structuredContent"]
    return structured


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_lists_the_tools(inspector: list[str], era: str) -> None:
    # --strict: the Inspector's tool-schema portability check; an error-severity problem exits 6.
    result = run_inspector(inspector, "--method", "tools/list", "--strict", era=era)
    tools = {tool["name"]: tool for tool in result["tools"]}
    assert {"account", "chat", "list_models"} <= set(tools), sorted(tools)
    for name, tool in tools.items():
        assert tool["description"], name
        assert tool["inputSchema"]["type"] == "object", name
        assert tool["outputSchema"]["type"] == "object", name
        assert "readOnlyHint" in tool["annotations"], name


def test_calls_list_models(inspector: list[str]) -> None:
    models = call_tool(inspector, "list_models", "limit=3")
    assert models["total"] > 3
    assert models["source"] in ("live", "cache")  # fetched from the simulator, not the bundled fallback
    assert len(models["models"]) == 3
    assert all(row["id"] for row in models["models"])
    assert models["next_cursor"]


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_calls_chat(inspector: list[str], era: str) -> None:
    reply = call_tool(inspector, "chat", "prompt=hello", era=era)
    assert reply["text"].strip()
    assert reply["usage"]["completion_tokens"] > 0
    assert reply["cost_usd"] is not None
    assert reply["model_used"]


def test_calls_account(inspector: list[str]) -> None:
    account = call_tool(inspector, "account")
    assert account["balance_usd"] == 25
    assert account["daily_quota"] == 2000


def test_a_tool_error_reaches_the_inspector_as_an_error_result(inspector: list[str]) -> None:
    result = run_inspector(
        inspector,
        "--method",
        "tools/call",
        "--tool-name",
        "account",
        "--tool-arg",
        "verbose=true",
        expect=TOOL_IS_ERROR,
    )
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert text.startswith("invalid_arguments: ")
    assert json.loads(text.rsplit("\n", 1)[-1])["code"] == "invalid_arguments"
