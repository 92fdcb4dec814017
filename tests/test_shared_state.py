"""The shared store against a real redis-server: key names, the TTL cache, bounded commands, and the
outage policy (fall back at once, say it once, share again when Redis is back).

The two replicas and a balancer in front are `test_topology.py`; here, two stores in one process stand
for two replicas, and a server started while Redis is down shows the policy from the outside.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from http_support import http_server
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sim_process import SimProcess
from system_servers import RedisServer, free_port, redis_server

from chutes_mcp.chutes.errors import BreakerOpenError
from chutes_mcp.chutes.resilience.breaker import BreakerRegistry
from chutes_mcp.config import ConfigError, load_settings
from chutes_mcp.shared.cache import open_cache
from chutes_mcp.shared.redis_store import RedisStore, StoreUnavailableError

SECRET = b"shared-state-test-secret-0123456789abcdef"
KEY = "cpk_0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef.abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path) as server:
        yield server


def store_at(url: str, secret: bytes = SECRET, timeout_s: float = 0.5) -> RedisStore:
    return RedisStore(url, secret, timeout_s=timeout_s)


def test_keys_are_keyed_digests_never_the_credential() -> None:
    one, other = store_at("redis://127.0.0.1:1/0"), store_at("redis://127.0.0.1:1/0", b"x" * 40)
    key = one.key("limit", KEY)
    assert key.startswith("chutes-mcp:limit:")
    assert KEY not in key
    assert KEY.split(".")[0] not in key
    assert one.key("limit", KEY) == store_at("redis://127.0.0.1:1/0").key("limit", KEY)  # every replica
    assert other.key("limit", KEY) != key  # another deployment's secret, other keys
    assert one.key("breaker", KEY, "m") != one.key("breaker", KEY + "m")  # parts stay apart


def test_redis_needs_a_key_secret_and_no_error_shows_the_url() -> None:
    with pytest.raises(ConfigError) as missing:
        load_settings(mcp_redis_url="redis://:hunter2-password@redis.internal:6379/0")
    assert "CHUTES_MCP_REDIS_KEY_SECRET: is required with CHUTES_MCP_REDIS_URL" in str(missing.value)
    assert "openssl rand -hex 32" in str(missing.value)
    with pytest.raises(ConfigError) as wrong:
        load_settings(mcp_redis_url="http://:hunter2-password@redis.internal/", mcp_redis_key_secret="s" * 32)
    assert "CHUTES_MCP_REDIS_URL: must start with redis://, rediss:// or unix://" in str(wrong.value)
    assert "hunter2" not in str(missing.value) + str(wrong.value)


@pytest.mark.anyio
async def test_the_cache_is_shared_expires_and_forgets(redis: RedisServer) -> None:
    one, two = store_at(redis.url), store_at(redis.url)
    try:
        first, second = open_cache(one, "introspection"), open_cache(two, "introspection")
        await first.put("cak_token", '{"active": true}', 30)
        assert await second.get("cak_token") == '{"active": true}'
        assert await second.get("cak_other") is None
        await second.forget("cak_token")
        assert await first.get("cak_token") is None
        await first.put("cak_short", "x", 0.05)
        await anyio.sleep(0.2)
        assert await second.get("cak_short") is None
        keys = await one.client.keys("*")
    finally:
        await one.aclose()
        await two.aclose()
    assert keys == []
    assert not any("cak_" in key for key in keys)


@pytest.mark.anyio
async def test_a_trial_released_on_one_replica_is_free_on_the_other(redis: RedisServer) -> None:
    one, two = store_at(redis.url), store_at(redis.url)
    try:
        here, there = (
            BreakerRegistry(threshold=1, cooldown_s=0.2, store=store, identity=KEY).get("m")
            for store in (one, two)
        )
        await here.record_failure()  # open for everyone
        await anyio.sleep(0.25)
        assert await here.before_call() is True  # the one trial, taken here
        with pytest.raises(BreakerOpenError, match="one trial call is testing it now"):
            await there.before_call()
        await here.release_trial()  # it ended without a verdict
        assert await there.before_call() is True
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.anyio
async def test_without_redis_the_cache_answers_from_the_process_then_shares_again(
    redis: RedisServer,
) -> None:
    store = store_at(redis.url)
    cache = open_cache(store, "introspection")
    try:
        await cache.put("cak_token", "before", 30)
        redis.kill()
        with anyio.fail_after(5):
            assert await cache.get("cak_token") is None  # Redis had it; this process did not
            await cache.put("cak_token", "during", 30)
            assert await cache.get("cak_token") == "during"
            for _ in range(20):
                await cache.get("cak_token")
        assert store.health().state == "unavailable"
        redis.start()
        with anyio.fail_after(10):
            while (await store.check()).state != "ok":  # noqa: ASYNC110 (another process's state)
                await anyio.sleep(0.1)
        await cache.put("cak_token", "after", 30)
        other = store_at(redis.url)
        try:
            assert await open_cache(other, "introspection").get("cak_token") == "after"
        finally:
            await other.aclose()
    finally:
        await store.aclose()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers: Redis hung, or a black-holed route."""
    listener = socket.create_server(("127.0.0.1", free_port()))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


@pytest.mark.anyio
async def test_a_redis_that_never_answers_costs_one_timeout_then_nothing() -> None:
    with silent_server() as port:
        store = store_at(f"redis://127.0.0.1:{port}/0", timeout_s=0.2)
        try:
            with anyio.fail_after(5):
                with pytest.raises(StoreUnavailableError):
                    await store.run(lambda client: client.get("k"))
                # Within the recheck interval nobody waits on Redis again: each falls back at once.
                for _ in range(50):
                    with pytest.raises(StoreUnavailableError):
                        await store.run(lambda client: client.get("k"))
            assert store.health().state == "unavailable"
        finally:
            await store.aclose()


@pytest.mark.anyio
async def test_a_server_started_while_redis_is_down_serves_on_its_own_and_says_so(
    sim: SimProcess, tmp_path: Path
) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    env = {"CHUTES_MCP_REDIS_URL": dead, "CHUTES_MCP_REDIS_KEY_SECRET": SECRET.decode()}
    with http_server(sim, tmp_path, **env) as server:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            with anyio.fail_after(30):
                answers = [await client.call_tool("chat", {"prompt": "hi"}) for _ in range(3)]
        ready = httpx2.get(f"{server.base}/readyz", timeout=10)
        log = "".join(server.log_lines)
    assert not any(answer.is_error for answer in answers)
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["shared_state"]["state"] == "unavailable"
    assert log.count("redis.unavailable") == 1
    assert SECRET.decode() not in log
