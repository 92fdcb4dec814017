"""Running calls by key, so that a cancel arriving as an HTTP request of its own reaches the call.

Over stateless streamable HTTP a 2025-era client cancels with a separate POST of
`notifications/cancelled`, which any replica may receive; the call it names runs in another request.
The HTTP layer (`call_routing`) registers each running call under a key and cancels by key. One
process needs nothing more than `InProcessCalls`; several replicas behind a plain balancer use
`RedisCalls`: each call's key names, in Redis, the replica that runs it, and a cancel that lands on
another replica is published on that replica's channel.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress

import anyio

from chutes_mcp.log import get_logger
from chutes_mcp.shared.redis_store import RedisStore, StoreUnavailableError

# Who is calling, as far as an HTTP request shows it: its credentials (a server token, or a caller's
# own Chutes key) and the session id this server issued it.
CREDENTIAL_HEADERS = ("authorization", "x-chutes-api-key")
# Delete a call's entry only while it still names this replica: a client that reused the id may have
# started a newer call with it elsewhere.
_FORGET_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
log = get_logger(__name__)


def call_key(headers: Mapping[str, str], session_id: str | None, request_id: object) -> str | None:
    """The key of a call: the caller (credentials and session id, as a digest) and its JSON-RPC id.

    None when the call cannot be told apart from another caller's, so it is never cancelled by key:
    without a session id or a credential, request ids (small integers, chosen by each client) would
    let one anonymous client cancel another's call.
    """
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    credentials = [headers.get(name, "") for name in CREDENTIAL_HEADERS]
    if not session_id and not any(credentials):
        return None
    caller = hashlib.sha256("\0".join([*credentials, session_id or ""]).encode()).hexdigest()
    # An id sent as 7 and cancelled as "7" is the same call, as the SDK's own dispatcher has it.
    return f"{caller}:{request_id}"


class RunningCalls(ABC):
    """Where running calls are found by key."""

    @abstractmethod
    def running(self, key: str, cancel: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """Hold the call registered under `key` while the context is open; `cancel(key)` calls `cancel`."""

    @abstractmethod
    async def cancel(self, key: str) -> bool:
        """Cancel the call registered under `key`: False when there is none (it ended, or never ran)."""


class InProcessCalls(RunningCalls):
    """The calls of this process."""

    def __init__(self) -> None:
        self._calls: dict[str, Callable[[], None]] = {}

    @asynccontextmanager
    async def _running(self, key: str, cancel: Callable[[], None]) -> AsyncIterator[None]:
        # A client that reuses an id while its first call runs gets the newer call cancelled.
        self._calls[key] = cancel
        try:
            yield
        finally:
            if self._calls.get(key) is cancel:
                del self._calls[key]

    def running(self, key: str, cancel: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        return self._running(key, cancel)

    async def cancel(self, key: str) -> bool:
        cancel = self._calls.get(key)
        if cancel is None:
            return False
        cancel()
        return True


class RedisCalls(RunningCalls):
    """The calls of every replica. `key -> replica` lives in Redis (under an HMAC of the key) for as
    long as the call runs, at most `longest_call_s`; `cancel` finds the replica and publishes the key on
    its channel, where `listen` (running for the life of the server) hears it.

    While Redis is unavailable, a call is registered here only, and a cancel reaches the calls of the
    replica it lands on; one published while a replica was resubscribing is lost.
    """

    def __init__(self, store: RedisStore, *, longest_call_s: float) -> None:
        self._store = store
        self._ttl_ms = int(longest_call_s * 1000)
        self._calls: dict[str, Callable[[], None]] = {}

    @asynccontextmanager
    async def _running(self, key: str, cancel: Callable[[], None]) -> AsyncIterator[None]:
        name = self._store.key("call", key)
        self._calls[name] = cancel
        replica = self._store.replica
        try:
            with suppress(StoreUnavailableError):
                await self._store.run(lambda client: client.set(name, replica, px=self._ttl_ms))
            yield
        finally:
            if self._calls.get(name) is cancel:
                del self._calls[name]
            # Without Redis the entry expires, and a cancel for it meanwhile finds no call here.
            with anyio.CancelScope(shield=True), suppress(StoreUnavailableError):
                await self._store.script(_FORGET_LUA, [name], [replica])

    def running(self, key: str, cancel: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        return self._running(key, cancel)

    def _cancel_here(self, name: str) -> bool:
        cancel = self._calls.get(name)
        if cancel is None:
            return False
        cancel()
        return True

    async def cancel(self, key: str) -> bool:
        name = self._store.key("call", key)
        if self._cancel_here(name):
            return True
        try:
            owner = await self._store.run(lambda client: client.get(name))
            if not isinstance(owner, str) or owner == self._store.replica:
                return False
            channel = self._store.channel(owner)
            heard = await self._store.run(lambda client: client.publish(channel, name))
        except StoreUnavailableError:
            return False
        return isinstance(heard, int) and heard > 0

    async def listen(self) -> None:
        """Cancel the calls of this replica that other replicas were asked to cancel, until cancelled."""
        await self._store.listen(self._store.channel(self._store.replica), self._heard)

    def _heard(self, name: str) -> None:
        if not self._cancel_here(name):
            log.debug("cancel.unknown_call", detail="the call ended before the cancel arrived")


@asynccontextmanager
async def open_running_calls(
    store: RedisStore | None, *, longest_call_s: float
) -> AsyncIterator[RunningCalls]:
    """The running calls of this server: of every replica through Redis when there is a store."""
    if store is None:
        yield InProcessCalls()
        return
    calls = RedisCalls(store, longest_call_s=longest_call_s)
    async with anyio.create_task_group() as listening:
        listening.start_soon(calls.listen)
        try:
            yield calls
        finally:
            listening.cancel_scope.cancel()
