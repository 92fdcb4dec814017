"""4. Cold start: from spawn to `tools/list` answered over stdio, ours against `mcp-server-time`.

Both are started from their console scripts in this environment with the same minimal environment,
given the 2025-11-25 handshake (`initialize`, `notifications/initialized`) and then `tools/list`, as
newline-delimited JSON-RPC on stdin; the clock stops when the `tools/list` answer is read. Runs alternate.

Each run then makes one tool call (ours `list_models`, which waits for the live catalog; theirs
`get_current_time`) and the time from spawn to its answer is reported too: ours opens its runtime after
the tool list, so this is where the rest of its start shows.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from typing import Any

from benchmarks.measure import now_ms, summarize
from benchmarks.processes import BIN
from benchmarks.report import Section, p50_p95

_INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "chutes-mcp-benchmarks", "version": "1"},
    },
}
_INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
FIRST_CALLS: dict[str, tuple[str, dict[str, Any]]] = {
    "ours": ("list_models", {}),
    "mcp-server-time": ("get_current_time", {"timezone": "UTC"}),
}


def _line(message: Mapping[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def _call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def spawn_to_answers(
    command: list[str], env: Mapping[str, str], first_call: tuple[str, dict[str, Any]]
) -> tuple[float, float]:
    """Milliseconds from spawn to the `tools/list` answer, and to the first tool call's."""
    started = now_ms()
    process = subprocess.Popen(
        command, env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(_line(_INIT))
        process.stdin.flush()
        _answer(process.stdout, 1)
        process.stdin.write(_line(_INITIALIZED) + _line(_LIST))
        process.stdin.flush()
        tools = _answer(process.stdout, 2)["result"]["tools"]
        listed = now_ms() - started
        if not tools:
            raise RuntimeError(f"{command[0]} listed no tools")
        process.stdin.write(_line(_call(*first_call)))
        process.stdin.flush()
        result = _answer(process.stdout, 3).get("result") or {}
        if not result.get("content") or result.get("isError"):
            raise RuntimeError(f"{command[0]}: {first_call[0]} failed: {result}")
        return listed, now_ms() - started
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answer(stdout: Any, request_id: int) -> dict[str, Any]:
    while True:
        line = stdout.readline()
        if not line:
            raise RuntimeError("the server closed stdout before answering")
        message: dict[str, Any] = json.loads(line)
        if message.get("id") == request_id:
            return message


def run(env: Mapping[str, str], runs: int) -> Section:
    section = Section("4 cold start stdio")
    commands = {"ours": [str(BIN / "chutes-mcp"), "serve"], "mcp-server-time": [str(BIN / "mcp-server-time")]}
    for label, command in commands.items():
        spawn_to_answers(command, env, FIRST_CALLS[label])  # the first start of each fills the OS page cache
    listed: dict[str, list[float]] = {label: [] for label in commands}
    called: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(runs):
        for label, command in commands.items():
            to_list, to_call = spawn_to_answers(command, env, FIRST_CALLS[label])
            listed[label].append(to_list)
            called[label].append(to_call)
    ours, reference = summarize(listed["ours"]), summarize(listed["mcp-server-time"])
    ratio = ours.p50 / reference.p50
    section.data = {label: summarize(values).as_dict() for label, values in listed.items()} | {
        f"{label} first call": summarize(values).as_dict() for label, values in called.items()
    }
    section.row("ours: spawn to tools/list (p50/p95)", p50_p95(ours))
    section.row("mcp-server-time: spawn to tools/list (p50/p95)", p50_p95(reference))
    section.row("ours / mcp-server-time (p50)", f"x{ratio:.2f}", "<= x1.00", ratio <= 1.0)
    for label, (tool, _) in FIRST_CALLS.items():
        section.row(f"{label}: spawn to first {tool} answered (p50/p95)", p50_p95(summarize(called[label])))
    return section
