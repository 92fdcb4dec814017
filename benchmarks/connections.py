"""7. Upstream TCP connections a fresh server opens, from spawn (its catalog fetch included) through N
sequential `chat` calls over stdio, read from the simulator's `tcp_connections` counter; the benchmark's
own control client keeps one connection of its own, opened before counting starts."""

from __future__ import annotations

from mcp import Client

from benchmarks import processes
from benchmarks.report import Section
from benchmarks.rig import CHAT_ARGS, Plan, Rig, check

TARGET = 1


async def run(rig: Rig, plan: Plan) -> Section:
    section = Section("7 upstream connections")
    await rig.sim_stats()  # the control client's own connection is open before counting starts
    before = await rig.sim_stats()
    async with Client(processes.ours_stdio(rig.env)) as client:
        for _ in range(plan.sequential_calls):
            check(await client.call_tool("chat", CHAT_ARGS))
    after = await rig.sim_stats()
    opened = after["tcp_connections"] - before["tcp_connections"]
    chats = after["requests"]["chat"]["total"] - before["requests"]["chat"]["total"]
    section.data = {"calls": plan.sequential_calls, "chat_requests": chats, "tcp_connections_opened": opened}
    section.row(
        f"TCP connections opened for {plan.sequential_calls:,} sequential calls",
        f"{opened} ({chats:,} chat requests upstream)",
        f"{TARGET}",
        opened == TARGET,
    )
    return section
