"""6. Memory: RSS (VmRSS) of a fresh `chutes-mcp serve --transport http` process after start, after a
warm-up of 100 `chat` calls (catalog fetched, lazy imports done), and after N more calls (8 clients)."""

from __future__ import annotations

from collections.abc import Mapping

import anyio

from benchmarks import processes
from benchmarks.report import Section
from benchmarks.rig import CHAT_ARGS
from benchmarks.throughput import load_calls

WARMUP_CALLS = 100
CLIENTS = 8
GROWTH_TARGET_MB = 5.0


async def run(env: Mapping[str, str], calls: int) -> Section:
    section = Section("6 memory")
    with processes.ours_http(env) as server:
        await anyio.sleep(0.5)
        started = processes.rss_mb(server.pid)
        await load_calls(server.url, "chat", CHAT_ARGS, CLIENTS, WARMUP_CALLS)
        warm = processes.rss_mb(server.pid)
        await load_calls(server.url, "chat", CHAT_ARGS, CLIENTS, calls)
        after = processes.rss_mb(server.pid)
    growth = after - warm
    section.data = {"calls": calls, "rss_mb": {"start": started, "warm": warm, "after": after}}
    section.row("RSS after start / after 100 calls", f"{started:.1f} / {warm:.1f} MB")
    section.row(
        f"RSS after {calls:,} more calls (growth)",
        f"{after:.1f} MB (+{growth:.1f} MB)",
        f"<= +{GROWTH_TARGET_MB:g} MB" + ("" if calls >= 10_000 else f" (quick: {calls:,} calls)"),
        growth <= GROWTH_TARGET_MB,
    )
    return section
