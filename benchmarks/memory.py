"""(e) Memory: RSS growth of the server process over many calls on one MCP connection, per transport.

The calls cycle through `list_models`, `get_model` and a short `chat` (16 tokens, no pacing), one after
another. After a warm-up (caches filled, lazy imports done, allocator pools grown), the server's VmRSS
is read every `SAMPLE_EVERY` calls; growth is the least-squares slope of those readings, in MB per
1,000 calls, so one noisy reading does not decide it. The first and last readings are in the JSON.
"""

from __future__ import annotations

from typing import Any

from benchmarks.measure import slope
from benchmarks.processes import rss_mb
from benchmarks.report import Section
from benchmarks.rig import MODEL, TRANSPORTS, Rig, chat_args, check, pace

SAMPLE_EVERY = 250
TARGET_MB_PER_1000 = 1.0
FULL_CALLS = 10_000
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("list_models", {}),
    ("get_model", {"model": MODEL}),
    ("chat", chat_args("hi", 16)),
]


async def run(rig: Rig, sim_url: str, warmup: int, calls: int) -> Section:
    section = Section("e memory")
    await pace(sim_url, ttft_ms=0, tokens_per_s=0, answer_tokens=0)
    section.data = {"warmup_calls": warmup, "calls": calls, "tools": [name for name, _ in CALLS]}
    for transport in TRANSPORTS:
        client, pid = rig.mcp[transport], rig.pids[transport]
        for number in range(warmup):
            name, arguments = CALLS[number % len(CALLS)]
            check(await client.call_tool(name, arguments))
        done, readings = [0], [rss_mb(pid)]
        for number in range(1, calls + 1):
            name, arguments = CALLS[number % len(CALLS)]
            check(await client.call_tool(name, arguments))
            if number % SAMPLE_EVERY == 0:
                done.append(number)
                readings.append(rss_mb(pid))
        per_1000 = slope(done, readings) * 1000
        section.data[transport] = {
            "rss_mb_after_warmup": round(readings[0], 2),
            "rss_mb_at_end": round(readings[-1], 2),
            "growth_mb_per_1000_calls": round(per_1000, 4),
            "readings_mb": [round(value, 2) for value in readings],
        }
        section.row(
            f"(e) RSS growth of the server over {transport}, {calls:,} calls after {warmup:,}"
            + ("" if calls >= FULL_CALLS else f" (quick: not {FULL_CALLS:,})"),
            f"{per_1000:+.2f} MB / 1,000 calls ({readings[-1]:.0f} MB at end)",
            f"≤ {TARGET_MB_PER_1000:g} MB / 1,000",
            per_1000 <= TARGET_MB_PER_1000,
        )
    return section
