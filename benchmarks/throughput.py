"""3. Throughput over HTTP at 1, 8, 32 and 128 concurrent clients: `chat` on our server and the no-op
tool on the floor server, side by side in the same run; and the same chat request sent straight to the
simulator, which bounds what any proxy could reach on the same cores.

The load generator is cheap on purpose, since it shares the 2 cores with the server and the simulator:
one process, one pooled `httpx2.AsyncClient` (a kept-alive connection per client), and bare JSON-RPC
POSTs of the 2026-07-28 form (no handshake, no session, the body serialized once). Each client calls
back to back; calls that start after a warm-up and end within the window count. The CPU each process
spent per call is read from /proc/PID/stat, so the table says where the two cores went.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2

from benchmarks.measure import now_ms, summarize
from benchmarks.report import Section
from benchmarks.rig import CHAT_ARGS, Plan, Rig
from benchmarks.rpc import DirectChat, RawToolCaller

LEVELS = (1, 8, 32, 128)
WARMUP_S = 0.5
RATE_TARGET = 300.0
SHARE_TARGET = 0.6
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


Caller = Callable[[httpx2.AsyncClient], Callable[[], Awaitable[object]]]


def tool_caller(url: str, tool: str, arguments: dict[str, Any]) -> Caller:
    return lambda http: RawToolCaller(http, url, tool, arguments).call


async def load(make_call: Caller, clients: int, seconds: float) -> dict[str, Any]:
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(timeout=120, limits=limits) as http:
        call = make_call(http)
        latencies: list[float] = []
        start = now_ms() + WARMUP_S * 1000
        stop = start + seconds * 1000

        async def client() -> None:
            while True:
                began = now_ms()
                if began >= stop:
                    return
                await call()
                ended = now_ms()
                if began >= start and ended <= stop:
                    latencies.append(ended - began)

        async with anyio.create_task_group() as group:
            for _ in range(clients):
                group.start_soon(client)
    latency = summarize(latencies)
    return {"clients": clients, "calls": len(latencies), "rate": len(latencies) / seconds, "latency": latency}


async def run(rig: Rig, plan: Plan) -> Section:
    section = Section("3 throughput http")
    pids = {"server": rig.ours_http.pid, "floor": rig.floor_http.pid, "sim": rig.sim.pid}
    targets = {
        "chat": tool_caller(rig.ours_http.url, "chat", CHAT_ARGS),
        "noop": tool_caller(rig.floor_http.url, "noop", {}),
        # The same chat request straight to the simulator: the ceiling for any proxy on this machine.
        "direct": lambda http: DirectChat(http, rig.sim.url, CHAT_ARGS).stream,
    }
    results: dict[str, dict[int, dict[str, Any]]] = {label: {} for label in targets}
    for clients in LEVELS:
        for label, make_call in targets.items():
            before = {name: cpu_s(pid) for name, pid in pids.items()} | {"loadgen": time.process_time()}
            outcome = await load(make_call, clients, plan.throughput_s)
            after = {name: cpu_s(pid) for name, pid in pids.items()} | {"loadgen": time.process_time()}
            total_calls = max(outcome["calls"], 1)
            outcome["cpu_ms_per_call"] = {
                name: round((after[name] - before[name]) * 1000 / total_calls, 3) for name in before
            }
            results[label][clients] = outcome
        chat, noop = results["chat"][clients], results["noop"][clients]
        share = chat["rate"] / noop["rate"]
        at_target = clients == 32
        section.row(
            f"{clients:>3} clients: chat calls/s, p95",
            f"{chat['rate']:.0f}/s, {chat['latency'].p95:.1f} ms",
            f">= {RATE_TARGET:g}/s" if at_target else "",
            chat["rate"] >= RATE_TARGET if at_target else None,
        )
        section.row(
            f"{clients:>3} clients: no-op calls/s, p95", f"{noop['rate']:.0f}/s, {noop['latency'].p95:.1f} ms"
        )
        section.row(
            f"{clients:>3} clients: chat / no-op rate",
            f"{share:.0%}",
            f">= {SHARE_TARGET:.0%}" if at_target else "",
            share >= SHARE_TARGET if at_target else None,
        )
        direct = results["direct"][clients]
        section.row(
            f"{clients:>3} clients: direct to simulator calls/s (its / no-op rate)",
            f"{direct['rate']:.0f}/s ({direct['rate'] / noop['rate']:.0%})",
        )
    section.data = {
        label: {
            str(clients): {**outcome, "latency": outcome["latency"].as_dict()}
            for clients, outcome in per.items()
        }
        for label, per in results.items()
    }
    cpu = results["chat"][32]["cpu_ms_per_call"]
    section.row(
        "32 clients: CPU ms per chat call (server/sim/loadgen)",
        f"{cpu['server']:.2f} / {cpu['sim']:.2f} / {cpu['loadgen']:.2f}",
    )
    return section


async def load_calls(url: str, tool: str, arguments: dict[str, Any], clients: int, calls: int) -> None:
    """Make exactly `calls` calls with `clients` concurrent clients."""
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    left = [calls]
    async with httpx2.AsyncClient(timeout=120, limits=limits) as http:
        caller = RawToolCaller(http, url, tool, arguments)

        async def client() -> None:
            while left[0] > 0:
                left[0] -= 1
                await caller.call()

        async with anyio.create_task_group() as group:
            for _ in range(clients):
                group.start_soon(client)
