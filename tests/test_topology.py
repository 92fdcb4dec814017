"""Two replicas behind a round-robin balancer, sharing state in Redis, against one simulator.

The real thing, on free loopback ports: Debian's `redis-server`, two `chutes-mcp serve --transport
http` processes with `CHUTES_MCP_REDIS_URL`, and Debian's `nginx` in front (`system_servers`). Shown
here: one Chutes key stays under its rate across both replicas; a breaker opened through one replica
is honoured by the other; a 2025-era cancel that the balancer sends to the other replica stops the
call; a signed-in user's token is introspected once for both; and when Redis is killed the replicas go
on with their own state (said once in the log, and by `/readyz`), then share again once it is back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from hosted_support import concurrent_chats, outcome, sim_handle, status_of, wide_client
from http_support import HttpServer, http_server
from jsonrpc_support import INITIALIZED, MCP_HEADERS, cancelled, initialize, request
from mcp import Client
from mcp.types import CallToolResult
from mcp_support import API_KEY, error_of
from sim_process import SimProcess
from system_servers import UPSTREAM_HEADER, LoadBalancer, RedisServer, load_balancer, redis_server
from test_server_sign_in import bearer_client, sign_in_directly

pytestmark = pytest.mark.anyio

PLAIN = "unsloth/Mistral-Nemo-Instruct-2407"  # no reasoning: every token is answer text
KEY_SECRET = "topology-test-secret-0123456789abcdef"
UPSTREAM_CLOSE_S = 1.0
WAIT_S = 60


@dataclass
class Topology:
    redis: RedisServer
    replicas: list[HttpServer]
    balancer: LoadBalancer

    @property
    def url(self) -> str:
        return f"{self.balancer.url}/mcp"


@contextmanager
def topology(sim: SimProcess, tmp_path: Path, **env: str) -> Iterator[Topology]:
    for name in ("redis", "a", "b", "nginx"):
        (tmp_path / name).mkdir()
    with redis_server(tmp_path / "redis") as redis:
        shared = {"CHUTES_MCP_REDIS_URL": redis.url, "CHUTES_MCP_REDIS_KEY_SECRET": KEY_SECRET, **env}
        with (
            http_server(sim, tmp_path / "a", **shared) as one,
            http_server(sim, tmp_path / "b", **shared) as two,
        ):
            upstreams = [httpx2.URL(replica.url).netloc.decode() for replica in (one, two)]
            with load_balancer(tmp_path / "nginx", upstreams) as balancer:
                yield Topology(redis, [one, two], balancer)


def readiness(replica: HttpServer) -> tuple[int, dict[str, Any]]:
    response = httpx2.get(f"{replica.base}/readyz", timeout=10)
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def chats(client: Client, count: int, **arguments: Any) -> list[CallToolResult]:
    return await concurrent_chats(client, count, {"prompt": "hi", "model": PLAIN, **arguments})


async def test_one_key_across_both_replicas_stays_under_its_rate(sim: SimProcess, tmp_path: Path) -> None:
    # 300 a minute (one request every 0.2 s) after a burst of 3, for the one key both replicas use.
    rate = {"CHUTES_RATE_LIMIT_RPM": "300", "CHUTES_RATE_LIMIT_BURST": "3"}
    with topology(sim, tmp_path, **rate) as site:
        async with wide_client(site.url) as client:
            with anyio.fail_after(WAIT_S):
                results = await chats(client, 30)
            async with wide_client(site.replicas[0].url) as one, wide_client(site.replicas[1].url) as two:
                with anyio.fail_after(WAIT_S):
                    # Every request the key made, from either replica, came through the one shared
                    # bucket. (A replica's background listing may still be in line: read until both
                    # replicas and the simulator have seen the same requests.)
                    while True:
                        served = [(await status_of(direct))["limiter"] for direct in (one, two)]
                        caller = sim.stats()["callers"][sim_handle(API_KEY)]
                        if caller["requests"] == sum(limiter["acquired"] for limiter in served):
                            break
                        await anyio.sleep(0.1)
    assert [outcome(result) for result in results] == ["ok"] * 30
    assert all(limiter["shared"] == "redis" and limiter["acquired"] > 0 for limiter in served)
    # At most the burst plus 5 a second in any second (each replica alone would allow as much, twice
    # that together); arrivals may bunch by a request or two on a loaded machine, hence the margin.
    assert caller["peak_per_1s"] <= 3 + 5 + 2, caller


async def test_a_breaker_opened_through_one_replica_is_honoured_by_the_other(
    sim: SimProcess, tmp_path: Path
) -> None:
    env = {"CHUTES_MAX_RETRIES": "0", "CHUTES_RATE_LIMIT_RPM": "600"}
    httpx2.post(
        f"{sim.url}/_sim/scenario", json={"faults": ["503"] * 5, "route": "chat", "model": PLAIN}
    ).raise_for_status()
    with topology(sim, tmp_path, **env) as site:
        first, second = site.replicas
        with anyio.fail_after(WAIT_S):
            async with wide_client(first.url) as one:
                failures = [await one.call_tool("chat", {"prompt": "hi", "model": PLAIN}) for _ in range(5)]
            async with wide_client(second.url) as two:
                refused = await two.call_tool("chat", {"prompt": "hi", "model": PLAIN})
                breakers = (await status_of(two))["breakers"]
    assert [outcome(result) for result in failures] == ["model_unavailable"] * 5
    error = error_of(refused)
    assert error["code"] == "model_unavailable"
    assert "paused" in error["message"]
    assert error["retryable"]
    assert 0 < error["retry_after_s"] <= 30
    # The second replica never asked Chutes: five requests in all, every one through the first.
    assert sim.stats()["requests"]["chat"]["by_model"][PLAIN] == 5
    (breaker,) = [b for b in breakers if b["model"] == PLAIN]
    assert (breaker["state"], breaker["consecutive_failures"]) == ("open", 5)


async def test_a_2025_cancel_sent_to_the_other_replica_closes_the_upstream_stream(
    sim: SimProcess, tmp_path: Path
) -> None:
    # At 5 tokens a second every answer streams for 4 s or more.
    httpx2.patch(f"{sim.url}/_sim/config", json={"tokens_per_s": 5}).raise_for_status()
    version = "2025-11-25"
    handshake = initialize(version)
    call = request(2, "tools/call", {"name": "chat", "arguments": {"prompt": "hello", "model": PLAIN}})
    call["params"]["_meta"] = {"progressToken": "p"}
    with topology(sim, tmp_path) as site:
        async with httpx2.AsyncClient(timeout=30) as http:
            with anyio.fail_after(WAIT_S):
                answer = await http.post(site.url, json=handshake, headers=MCP_HEADERS)
                session = answer.headers["mcp-session-id"]
                headers = {**MCP_HEADERS, "mcp-protocol-version": version, "mcp-session-id": session}
                await http.post(site.url, json=INITIALIZED, headers=headers)
                async with http.stream("POST", site.url, json=call, headers=headers) as stream:
                    lines = stream.aiter_lines()
                    async for line in lines:
                        if line.startswith("data: ") and "notifications/progress" in line:
                            break
                    assert sim.stats()["streams"]["open"] == 1
                    cancel = await http.post(
                        site.url,
                        json=cancelled(2),
                        headers=headers,
                    )
                    cancelled_at = time.monotonic()
                    rest = [line async for line in lines if line.startswith("data: ")]
                while sim.stats()["streams"]["closed_early"] < 1:
                    assert time.monotonic() - cancelled_at < UPSTREAM_CLOSE_S, sim.stats()["streams"]
                    await anyio.sleep(0.01)
    assert cancel.status_code == 202
    # The point of it: the balancer sent the cancel to the replica that was not running the call.
    assert cancel.headers[UPSTREAM_HEADER] != stream.headers[UPSTREAM_HEADER]
    assert all("notifications/progress" in line for line in rest)  # no answer to a cancelled call
    streams = sim.stats()["streams"]
    assert (streams["open"], streams["completed"], streams["closed_early"]) == (0, 0, 1)


async def test_killing_redis_falls_back_to_each_replica_and_sharing_resumes_when_it_is_back(
    sim: SimProcess, tmp_path: Path
) -> None:
    with topology(sim, tmp_path, CHUTES_RATE_LIMIT_RPM="600") as site:
        for replica in site.replicas:
            code, body = readiness(replica)
            assert (code, body["status"], body["shared_state"]["state"]) == (200, "ready", "ok")
        async with wide_client(site.url) as client:
            with anyio.fail_after(WAIT_S):
                # Killed while calls are on their way: none of them hangs or fails for it.
                async with anyio.create_task_group() as group:
                    during: list[CallToolResult] = []

                    async def batch() -> None:
                        during.extend(await chats(client, 20))

                    group.start_soon(batch)
                    await anyio.sleep(0.3)
                    site.redis.kill()
                after_kill = await chats(client, 10)
                degraded = [readiness(replica) for replica in site.replicas]
                status = await status_of(client)
                site.redis.start()
                # /readyz asks Redis itself, so even an idle replica notices it is back.
                while any(readiness(replica)[1]["status"] != "ready" for replica in site.replicas):  # noqa: ASYNC110 (other processes' state)
                    await anyio.sleep(0.2)
                # Both replicas listen for cancels again (each subscribes anew a second after a failure).
                while len((await _redis_view(site.redis))[1]) < 2:  # noqa: ASYNC110 (another process's state)
                    await anyio.sleep(0.2)
                again = await chats(client, 4)
                keys, channels = await _redis_view(site.redis)
    assert [outcome(result) for result in during + after_kill + again] == ["ok"] * 34
    for code, body in degraded:
        assert code == 200
        assert body["status"] == "degraded"
        assert body["shared_state"]["state"] == "unavailable"
        assert "per-process" in body["shared_state"]["fallback"]
    assert status["shared_state"]["state"] == "unavailable"
    assert status["limiter"]["shared"] == "process (Redis unavailable)"
    for replica in site.replicas:
        log = "".join(replica.log_lines)
        assert log.count("redis.unavailable") == 1, log  # said once, however many calls fell back
        assert "redis.recovered" in log
        assert "topology-test-secret" not in log
    # Sharing again: the key's bucket is back in Redis, and both replicas listen for cancels again.
    assert any(key.startswith("chutes-mcp:limit:") for key in keys), keys
    assert len(channels) == 2


async def test_a_signed_in_users_token_is_introspected_once_for_both_replicas(
    sim: SimProcess, tmp_path: Path
) -> None:
    token = sign_in_directly(sim, "alice")
    with topology(sim, tmp_path, CHUTES_MCP_AUTH="chutes") as site:
        async with bearer_client(site.url, token) as client:
            with anyio.fail_after(WAIT_S):
                answers = [await client.call_tool("account", {}) for _ in range(4)]
    assert [outcome(answer) for answer in answers] == ["ok"] * 4
    # Every request of the session (initialize, the calls) went through one replica or the other, and
    # Chutes was asked about the token once: the second replica found the first one's answer in Redis.
    assert sim.stats()["requests"]["introspect"]["total"] == 1


async def _redis_view(server: RedisServer) -> tuple[list[str], list[str]]:
    """The keys, and the replicas' channels subscribed to, in the test's Redis."""
    from redis.asyncio import Redis

    client = Redis(host="127.0.0.1", port=server.port, decode_responses=True)
    try:
        keys: list[str] = await client.keys("chutes-mcp:*")
        channels: list[str] = await client.pubsub_channels("chutes-mcp:replica:*")
    finally:
        await client.aclose()
    return keys, channels
