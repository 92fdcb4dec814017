"""A small expiring key-value cache, shared by the replicas when Redis is configured.

Made for the token-introspection cache of Sign in with Chutes: `get(token)` before asking Chutes,
`put(token, answer, ttl_s)` after, with a TTL that ends shortly before the token does. Keys may be
credentials: the in-process cache keeps only their SHA-256 digests, Redis only HMACs of them (see
`redis_store`). Values are text (JSON, say) and are not secret-scrubbed: keep secrets out of them.

`open_cache(store, namespace)` gives the right one. With Redis unavailable, the Redis cache answers
from (and fills) an in-process cache, so an outage costs more introspection calls, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable

from chutes_mcp.shared.redis_store import RedisStore, StoreUnavailableError

# Entries an in-process cache holds before it drops the least recently used.
DEFAULT_MAX_ENTRIES = 10_000


class TtlCache(ABC):
    @abstractmethod
    async def get(self, key: str) -> str | None:
        """The value put under `key`, or None when there is none or it expired."""

    @abstractmethod
    async def put(self, key: str, value: str, ttl_s: float) -> None:
        """Keep `value` under `key` for `ttl_s` seconds (nothing is kept for 0 or less)."""

    @abstractmethod
    async def forget(self, key: str) -> None:
        """Drop `key` at once (a token found revoked, say)."""


class InProcessCache(TtlCache):
    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[bytes, tuple[float, str]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    async def get(self, key: str) -> str | None:
        digest = _digest(key)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        expires_at, value = entry
        if self._clock() >= expires_at:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return value

    async def put(self, key: str, value: str, ttl_s: float) -> None:
        digest = _digest(key)
        if ttl_s <= 0:
            self._entries.pop(digest, None)
            return
        self._entries[digest] = (self._clock() + ttl_s, value)
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def forget(self, key: str) -> None:
        self._entries.pop(_digest(key), None)


class RedisCache(TtlCache):
    """Entries in Redis under `chutes-mcp:<namespace>:<HMAC of the key>`, with Redis' own expiry."""

    def __init__(self, store: RedisStore, namespace: str) -> None:
        self._store = store
        self._namespace = namespace
        self._local = InProcessCache()

    async def get(self, key: str) -> str | None:
        name = self._store.key(self._namespace, key)
        try:
            value = await self._store.run(lambda client: client.get(name))
        except StoreUnavailableError:
            return await self._local.get(key)
        return value if isinstance(value, str) else None

    async def put(self, key: str, value: str, ttl_s: float) -> None:
        name = self._store.key(self._namespace, key)
        milliseconds = int(ttl_s * 1000)
        try:
            if milliseconds <= 0:
                await self._store.run(lambda client: client.delete(name))
            else:
                await self._store.run(lambda client: client.set(name, value, px=milliseconds))
        except StoreUnavailableError:
            await self._local.put(key, value, ttl_s)

    async def forget(self, key: str) -> None:
        name = self._store.key(self._namespace, key)
        # Also locally: an entry kept during an outage must not outlive its revocation.
        await self._local.forget(key)
        with contextlib.suppress(StoreUnavailableError):
            await self._store.run(lambda client: client.delete(name))


def open_cache(store: RedisStore | None, namespace: str) -> TtlCache:
    """The cache for `namespace` (e.g. "introspection"): in Redis when there is a store, else here."""
    if store is None:
        return InProcessCache()
    return RedisCache(store, namespace)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
