"""The shared pool and the process-wide rate limiter, as the simulator saw them."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

import anyio
import httpx2
import pytest
from client_support import hello, sim_settings
from sim_process import SimProcess

from chutes_mcp.chutes.client import ChutesClient

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("streamed", [False, True])
async def test_100_sequential_calls_reuse_one_tcp_connection(
    sim: SimProcess, tmp_path: Path, streamed: bool
) -> None:
    # Stats are read over one kept-alive connection of their own, so only the client's count changes.
    async with httpx2.AsyncClient() as observer:
        before = (await observer.get(f"{sim.url}/_sim/stats")).json()
        async with ChutesClient(sim_settings(sim, tmp_path)) as client:
            for _ in range(100):
                if streamed:
                    async with aclosing(client.chat_stream(hello(max_tokens=4))) as events:
                        async for _event in events:
                            pass
                else:
                    await client.chat(hello(max_tokens=4))
        after = (await observer.get(f"{sim.url}/_sim/stats")).json()
    assert after["requests"]["chat"]["total"] == 100
    assert after["tcp_connections"] - before["tcp_connections"] == 1


async def test_200_concurrent_calls_hold_the_rate_limit(sim: SimProcess, tmp_path: Path) -> None:
    settings = sim_settings(sim, tmp_path, rate_limit_rpm=600)
    async with ChutesClient(settings) as client:
        async with anyio.create_task_group() as group:
            for _ in range(200):
                group.start_soon(client.chat, hello(max_tokens=4))
        state = client.limiter_state()
    stats = sim.stats()
    assert stats["requests"]["chat"]["total"] == 200
    # 600 rpm = 10 per second after a burst of `settings.burst`: at most 20 sent in any second. The
    # simulator counts arrivals, which scheduling jitter can bunch by a request or two, hence the margin;
    # without the limiter all 200 arrive within the same second.
    assert stats["peak_requests_per_1s"] <= settings.burst + 10 + 5
    assert state.acquired == 200
    assert state.delayed == 200 - settings.burst
