"""(b) From the first upstream token to the client's first progress notification, over stdio and HTTP.

Method: the servers and the direct client reach the simulator through the tap (`tap.py`), which notes
on CLOCK_MONOTONIC when each answer's first text chunk leaves the simulator, one loopback hop before
the server reads it. The MCP client asks for progress; its callback notes the same clock when the first
notification arrives. Relay = first progress − first token at the tap, per call, matched by the marker
in the prompt. The same figure for the direct client (first text out of `chat_stream` − first token at
the tap) is the floor: the tap's hop plus one client's read and decoding of the chunk.

The simulator's first token leaves 120 ms after the request arrives (`ttft_ms` 100, then one 20 ms
token tick), long after the server has finished sending the request, so none of that work overlaps
it; answers are 3 tokens at 50 tokens/s to keep each call short. Kinds take turns in a rotating
order. As a cross-check that needs no tap, the JSON also has the fallback figure: time to first
progress through MCP minus the direct client's time to first token (it also holds the request's way
in, client to server to simulator, which (a) covers).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mcp import Client

from benchmarks.measure import mono_ns, ms_between, summarize, turns
from benchmarks.report import Section, p50_p95
from benchmarks.rig import TRANSPORTS, chat_args, check, pace, rig
from benchmarks.tap import MARKER, Mark, read_marks, tap

TTFT_MS = 100
TOKENS_PER_S = 50
TOKENS = 3
TARGET_MS = 5.0


@dataclass(frozen=True)
class _Call:
    kind: str
    number: int
    start_ns: int
    first_ns: int


async def _mcp_call(client: Client, number: int) -> tuple[int, int]:
    first: list[int] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if not first:
            first.append(mono_ns())

    started = mono_ns()
    check(
        await client.call_tool(
            "chat", chat_args(MARKER.format(number), TOKENS), progress_callback=on_progress
        )
    )
    if not first:
        raise RuntimeError("no progress notification arrived")
    return started, first[0]


async def _calls(sim_url: str, rounds: int) -> tuple[list[_Call], dict[int, Mark]]:
    """Each round, one call of each kind in a rotating order; then what the tap saw of them."""
    records: list[_Call] = []
    kinds = ["direct", *TRANSPORTS]
    with tempfile.TemporaryDirectory(prefix="chutes-bench-tap-") as folder:
        log = Path(folder) / "first-tokens.log"
        with tap(sim_url, log) as relay:
            async with rig(relay.url) as running:
                for number, kind in enumerate(turns(kinds, rounds), start=1):
                    if kind == "direct":
                        call = await running.direct.call(MARKER.format(number), TOKENS)
                        start, first = call.start_ns, call.first_token_ns
                    else:
                        start, first = await _mcp_call(running.mcp[kind], number)
                    records.append(_Call(kind, number, start, first))
        marks = read_marks(log)
    missing = [record.number for record in records if record.number not in marks]
    if missing:
        raise RuntimeError(f"the tap saw no first token for calls {missing[:10]}")
    return records, marks


async def run(sim_url: str, rounds: int) -> Section:
    section = Section("b first progress")
    await pace(sim_url, ttft_ms=TTFT_MS, tokens_per_s=TOKENS_PER_S, answer_tokens=0)
    records, marks = await _calls(sim_url, rounds)
    kinds = ["direct", *TRANSPORTS]
    relay = {
        kind: summarize(
            [ms_between(marks[r.number].first_token_ns, r.first_ns) for r in records if r.kind == kind]
        )
        for kind in kinds
    }
    to_first = {
        kind: summarize([ms_between(r.start_ns, r.first_ns) for r in records if r.kind == kind])
        for kind in kinds
    }
    section.data = {
        "simulator": {"ttft_ms": TTFT_MS, "tokens_per_s": TOKENS_PER_S, "tokens": TOKENS},
        "first_token_to_first_progress_ms": {kind: s.as_dict() for kind, s in relay.items()},
        "call_to_first_progress_ms": {kind: s.as_dict() for kind, s in to_first.items()},
        "fallback_mcp_first_progress_minus_direct_first_token_p50_ms": {
            t: round(to_first[t].p50 - to_first["direct"].p50, 4) for t in TRANSPORTS
        },
    }
    section.row(
        "(b) first token upstream → first text, direct client (the floor): p50 / p95",
        p50_p95(relay["direct"]),
    )
    for transport in TRANSPORTS:
        summary = relay[transport]
        section.row(
            f"(b) first token upstream → first progress, MCP {transport}: p50 / p95",
            p50_p95(summary),
            f"p50 ≤ {TARGET_MS:g} ms",
            summary.p50 <= TARGET_MS,
        )
    return section
