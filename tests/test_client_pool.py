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


def _answers_take_two_seconds(sim: SimProcess) -> None:
    """Each answer starts a second after its request and takes another second: calls made together
    are open together, as far as the pool lets them."""
    pacing = {"ttft_ms": 1000, "tokens_per_s": 4}
    httpx2.patch(f"{sim.url}/_sim/config", json=pacing).raise_for_status()


async def _streams_at_once(client: ChutesClient, calls: int) -> None:
    async def one() -> None:
        async with aclosing(client.chat_stream(hello(max_tokens=4))) as events:
            async for _event in events:
                pass

    async with anyio.create_task_group() as group:
        for _ in range(calls):
            group.start_soon(one)


async def test_300_streams_at_once_on_connections_kept_for_the_next_300(
    sim: SimProcess, tmp_path: Path
) -> None:
    # The limiter is opened wide, as a hosted server's would be.
    _answers_take_two_seconds(sim)
    settings = sim_settings(sim, tmp_path, rate_limit_rpm=1_000_000, rate_limit_burst=1_000)
    async with httpx2.AsyncClient() as observer:
        before = (await observer.get(f"{sim.url}/_sim/stats")).json()
        async with ChutesClient(settings) as client:
            await _streams_at_once(client, 300)
            await _streams_at_once(client, 300)
        after = (await observer.get(f"{sim.url}/_sim/stats")).json()
    assert after["requests"]["chat"]["total"] == 600
    assert after["streams"]["peak"] == 300
    # 300 for the first round, which the second reuses (a pool keeping 20, as it did, opens 280 more).
    # Now and then the pool finds one unusable as it hands it out, and opens one in its place.
    assert 300 <= after["tcp_connections"] - before["tcp_connections"] <= 303


async def test_the_pool_size_is_a_setting(sim: SimProcess, tmp_path: Path) -> None:
    _answers_take_two_seconds(sim)
    settings = sim_settings(
        sim,
        tmp_path,
        rate_limit_rpm=1_000_000,
        rate_limit_burst=1_000,
        max_upstream_connections=40,
        max_upstream_keepalive=10,
    )
    async with ChutesClient(settings) as client:
        await _streams_at_once(client, 120)
    stats = sim.stats()
    assert stats["requests"]["chat"]["total"] == 120
    assert stats["streams"]["peak"] == 40
