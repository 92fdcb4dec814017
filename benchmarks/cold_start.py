"""(d) Cold start: from spawn to the `tools/list` answer over stdio, ours against `mcp-server-time`.

Both are started as `python -m <module>` from this environment with the same minimal environment
(ours pointed at the simulator), sent the handshake (`initialize`, `notifications/initialized`) and
`tools/list` as newline-delimited JSON-RPC on stdin; the clock starts before the spawn and stops when
the `tools/list` answer has been read. The bench writes and reads the pipes itself, so no client
library's start-up is timed. One start of each first fills the OS page cache; then runs alternate, the
order swapping every run. Ratio = median ours / median reference.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from typing import IO, Any

from benchmarks.measure import mono_ns, ms_between, summarize
from benchmarks.processes import SERVE
from benchmarks.report import Section, ms

RATIO_TARGET = 1.3
COMMANDS = {"ours": SERVE, "mcp-server-time": [sys.executable, "-m", "mcp_server_time"]}
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


def _line(message: Mapping[str, Any]) -> bytes:
    return (json.dumps(message) + "\n").encode()


def _answer(stdout: IO[bytes], request_id: int) -> dict[str, Any]:
    while True:
        line = stdout.readline()
        if not line:
            raise RuntimeError("the server closed stdout before answering")
        message: dict[str, Any] = json.loads(line)
        if message.get("id") == request_id:
            return message


def spawn_to_tools_ms(command: list[str], env: Mapping[str, str]) -> float:
    started = mono_ns()
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
        elapsed = ms_between(started, mono_ns())
        if not tools:
            raise RuntimeError(f"{' '.join(command)} listed no tools")
        return elapsed
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(env: Mapping[str, str], runs: int) -> Section:
    section = Section("d cold start")
    for command in COMMANDS.values():
        spawn_to_tools_ms(command, env)
    samples: dict[str, list[float]] = {label: [] for label in COMMANDS}
    labels = list(COMMANDS)
    for number in range(runs):
        for label in labels if number % 2 == 0 else labels[::-1]:
            samples[label].append(spawn_to_tools_ms(COMMANDS[label], env))
    ours, reference = summarize(samples["ours"]), summarize(samples["mcp-server-time"])
    ratio = ours.p50 / reference.p50
    section.data = {
        "spawn_to_tools_list_ms": {label: summarize(values).as_dict() for label, values in samples.items()},
        "ratio": round(ratio, 4),
        "samples_ms": {label: [round(v, 2) for v in values] for label, values in samples.items()},
    }
    section.row(
        "(d) spawn → tools/list over stdio, ours vs mcp-server-time: p50; ratio",
        f"{ms(ours.p50)} vs {ms(reference.p50)}; x{ratio:.2f}",
        f"≤ x{RATIO_TARGET:g}",
        ratio <= RATIO_TARGET,
    )
    return section
