"""2. Streaming relay: the simulator's first token to the client's first progress notification, and a
500-token stream end to end; MCP (stdio and HTTP) against the same request straight to the simulator.

First token: the simulator waits a fixed time to first token (`TTFT_MS`); time to first progress
through MCP is compared with time to first token direct, so the difference is what the relay adds.
Long stream: `answer_tokens` 500, no pacing; MCP asks for progress, as a host that shows it does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mcp import Client

from benchmarks.measure import now_ms, summarize
from benchmarks.report import Section, p50_p95
from benchmarks.rig import CHAT_ARGS, LONG_CHAT_ARGS, LONG_TOKENS, Plan, Rig, check

TTFT_MS = 50
RELAY_TARGET_MS = 5.0


async def _first_progress(client: Client) -> float:
    started = now_ms()
    first: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        if not first:
            first.append(now_ms())

    check(await client.call_tool("chat", CHAT_ARGS, progress_callback=on_progress))
    if not first:
        raise RuntimeError("no progress notification arrived")
    return first[0] - started


async def _direct_first_token(rig: Rig) -> float:
    started = now_ms()
    first: list[float] = []
    await rig.direct.stream(lambda: first.append(now_ms()))
    return first[0] - started


async def _long_with_progress(client: Client) -> object:
    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        return None

    return check(await client.call_tool("chat", LONG_CHAT_ARGS, progress_callback=on_progress))


async def _rounds(calls: dict[str, Callable[[], Awaitable[float]]], rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {label: [] for label in calls}
    for number in range(rounds + 3):
        for label, call in calls.items():
            value = await call()
            if number >= 3:
                samples[label].append(value)
    return samples


async def _timed(call: Callable[[], Awaitable[object]]) -> float:
    started = now_ms()
    await call()
    return now_ms() - started


async def run(rig: Rig, plan: Plan) -> Section:
    section = Section("2 streaming relay")
    await rig.sim_config(ttft_ms=TTFT_MS)
    try:
        first = await _rounds(
            {
                "direct": lambda: _direct_first_token(rig),
                "stdio": lambda: _first_progress(rig.ours_stdio),
                "http": lambda: _first_progress(rig.ours_http_client),
            },
            plan.relay_rounds,
        )
    finally:
        await rig.sim_config(ttft_ms=0)
    direct = summarize(first["direct"])
    section.data["ttft_ms"] = TTFT_MS
    section.data["first_token_ms"] = {label: summarize(values).as_dict() for label, values in first.items()}
    section.row(f"time to first token direct, sim TTFT {TTFT_MS} ms (p50/p95)", p50_p95(direct))
    for transport in ("stdio", "http"):
        mcp = summarize(first[transport])
        added = mcp.p50 - direct.p50
        section.row(f"time to first progress, MCP {transport} (p50/p95)", p50_p95(mcp))
        section.row(
            f"first-token relay added, {transport} (p50)",
            f"{added:.2f} ms",
            f"<= {RELAY_TARGET_MS:g} ms",
            added <= RELAY_TARGET_MS,
        )
        section.data[f"relay_added_{transport}_p50_ms"] = round(added, 4)
    await rig.sim_config(answer_tokens=LONG_TOKENS)
    try:
        long = await _rounds(
            {
                "direct": lambda: _timed(rig.direct_long.stream),
                "stdio": lambda: _timed(lambda: _long_with_progress(rig.ours_stdio)),
                "http": lambda: _timed(lambda: _long_with_progress(rig.ours_http_client)),
            },
            plan.long_rounds,
        )
    finally:
        await rig.sim_config(answer_tokens=0)
    long_direct = summarize(long["direct"])
    section.data["long_stream_ms"] = {label: summarize(values).as_dict() for label, values in long.items()}
    section.row(f"{LONG_TOKENS}-token stream direct (p50/p95)", p50_p95(long_direct))
    for transport in ("stdio", "http"):
        mcp = summarize(long[transport])
        section.row(
            f"{LONG_TOKENS}-token stream via MCP {transport} (p50/p95, added p50)",
            f"{p50_p95(mcp)}, +{mcp.p50 - long_direct.p50:.2f} ms",
        )
    return section
