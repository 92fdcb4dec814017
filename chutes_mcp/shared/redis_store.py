"""The Redis connection of one process, its key names, and its outage policy.

Keys are HMAC-SHA256 digests of what they stand for (a credential, a call) under the deployment's
key secret (`CHUTES_MCP_REDIS_KEY_SECRET`): whoever reads Redis learns no credential and cannot test a
guessed one. Times are Redis' own clock (`TIME` inside each script), so replicas whose clocks disagree
still share one limit.

Outage policy: every command is bounded by `CHUTES_MCP_REDIS_TIMEOUT_S`. The first one that fails or
times out marks Redis unavailable and logs one warning; from then on rate limits and breakers are kept
per process (so a key may send up to N times its rate through N replicas), a cancel reaches only the
calls of the replica it lands on, and `/readyz` says `degraded` (still 200: a replica without Redis
serves on). Every `RECHECK_S` one command tries Redis again while the others go on locally; the first
that succeeds resumes sharing and logs that it did. Nothing waits for Redis longer than the timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio

from chutes_mcp.config import Settings
from chutes_mcp.log import get_logger

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

KEY_PREFIX = "chutes-mcp"
# How long a process keeps to its own state after Redis failed, before one command tries it again.
RECHECK_S = 1.0
# How long a subscriber waits for a message before it checks that it should go on.
_LISTEN_S = 1.0
_ERROR_CHARS = 200

T = TypeVar("T")
log = get_logger(__name__)


class StoreUnavailableError(Exception):
    """Redis did not answer in time, or answered with an error: use this process's own state."""


@dataclass(frozen=True, slots=True)
class StoreHealth:
    state: Literal["ok", "unavailable"]
    since: datetime | None
    """When the outage began; None while Redis answers."""
    last_error: str | None

    def document(self) -> dict[str, Any]:
        fallback = None
        if self.state == "unavailable":
            fallback = "per-process rate limits and breakers; cancels reach this replica's calls only"
        return {
            "backend": "redis",
            "state": self.state,
            "since": self.since.isoformat() if self.since else None,
            "last_error": self.last_error,
            "fallback": fallback,
        }


def _describe(exc: BaseException) -> str:
    # Redis' errors name the host and port, never the URL's password.
    text = str(exc) or "no answer"
    return f"{type(exc).__name__}: {text}"[:_ERROR_CHARS]


class RedisStore:
    """One process's client of the shared Redis: bounded commands, Lua scripts, pub/sub, key names."""

    def __init__(self, url: str, secret: bytes, *, timeout_s: float) -> None:
        # Imported only when Redis is configured: a stdio server never pays for it.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.timeout_s = timeout_s
        # A process-unique name: cancels for calls this replica runs are published to it.
        self.replica = uuid.uuid4().hex
        self._secret = secret
        # redis-py's own retries would multiply the bound on a command; a failed one falls back at once.
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
            decode_responses=True,
        )
        self._scripts: dict[str, AsyncScript] = {}
        self._down_since: datetime | None = None
        self._last_error: str | None = None
        self._retry_at = 0.0
        self._probing = False

    # -- names ---------------------------------------------------------------------------------------

    def key(self, kind: str, *parts: str) -> str:
        """The Redis key of `parts` (a credential, a model): a keyed digest, never the parts themselves."""
        digest = hmac.new(self._secret, "\0".join((kind, *parts)).encode(), hashlib.sha256).hexdigest()
        return f"{KEY_PREFIX}:{kind}:{digest[:32]}"

    def channel(self, replica: str) -> str:
        return f"{KEY_PREFIX}:replica:{replica}"

    # -- commands ------------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while this process keeps to its own state (Redis failed, and it is not time to retry)."""
        if self._down_since is None:
            return True
        return not self._probing and time.monotonic() >= self._retry_at

    async def run(self, operation: Callable[[Redis], Awaitable[T]]) -> T:
        """Run `operation` on the client within the timeout; `StoreUnavailableError` instead of waiting."""
        if not self.available:
            raise StoreUnavailableError(self._last_error or "Redis is unavailable")
        probe = self._down_since is not None
        self._probing = self._probing or probe
        try:
            with anyio.fail_after(self.timeout_s):
                result = await operation(self.client)
        except Exception as exc:  # redis-py raises its own errors, OSError, and the timeout's
            self._failed(exc)
            raise StoreUnavailableError(_describe(exc)) from None
        finally:
            if probe:
                self._probing = False
        self._answered()
        return result

    async def script(self, lua: str, keys: Sequence[str], args: Sequence[str | float | int]) -> Any:
        """Run a Lua script (EVALSHA, loaded again after a Redis restart emptied its script cache)."""
        registered = self._scripts.get(lua)
        if registered is None:
            registered = self._scripts[lua] = self.client.register_script(lua)
        return await self.run(lambda client: registered(keys=list(keys), args=list(args), client=client))

    async def check(self) -> StoreHealth:
        """Ask Redis now, even within a recheck interval (for `/readyz`), and say how it is."""
        try:
            with anyio.fail_after(self.timeout_s):
                await self.client.ping()
        except Exception as exc:
            self._failed(exc)
        else:
            self._answered()
        return self.health()

    def health(self) -> StoreHealth:
        if self._down_since is None:
            return StoreHealth("ok", None, None)
        return StoreHealth("unavailable", self._down_since, self._last_error)

    def _failed(self, exc: BaseException) -> None:
        self._last_error = _describe(exc)
        self._retry_at = time.monotonic() + RECHECK_S
        if self._down_since is None:
            self._down_since = datetime.now(UTC)
            log.warning(
                "redis.unavailable",
                error=self._last_error,
                fallback="per-process rate limits and breakers until Redis answers again",
            )

    def _answered(self) -> None:
        if self._down_since is not None:
            down_s = (datetime.now(UTC) - self._down_since).total_seconds()
            self._down_since = None
            self._last_error = None
            log.warning("redis.recovered", down_s=round(down_s, 1), detail="sharing state again")

    # -- pub/sub -------------------------------------------------------------------------------------

    async def listen(self, channel: str, on_message: Callable[[str], None]) -> None:
        """Hand each message published on `channel` to `on_message`, until cancelled.

        Subscribes again after an outage, RECHECK_S apart; a message published meanwhile is lost,
        which for a cancel means the call runs on, as it would without Redis.
        """
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                with anyio.fail_after(self.timeout_s):
                    await pubsub.subscribe(channel)
                self._answered()
                while True:
                    with anyio.fail_after(_LISTEN_S + self.timeout_s):
                        message = await pubsub.get_message(timeout=_LISTEN_S)
                    if message is not None and isinstance(message.get("data"), str):
                        on_message(message["data"])
            except Exception as exc:
                self._failed(exc)
            finally:
                with anyio.CancelScope(shield=True), anyio.move_on_after(self.timeout_s):
                    await pubsub.aclose()
            await anyio.sleep(RECHECK_S)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(self.timeout_s):
            await self.client.aclose()


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[RedisStore | None]:
    """The process's Redis store when `CHUTES_MCP_REDIS_URL` is set, else None (state in the process).

    Redis down at start is no reason not to start: the process begins on its own state, and says so.
    """
    if settings.mcp_redis_url is None or settings.mcp_redis_key_secret is None:
        yield None
        return
    store = RedisStore(
        settings.mcp_redis_url.get_secret_value(),
        settings.mcp_redis_key_secret.get_secret_value().encode(),
        timeout_s=settings.mcp_redis_timeout_s,
    )
    try:
        await store.check()
        yield store
    finally:
        await store.aclose()
