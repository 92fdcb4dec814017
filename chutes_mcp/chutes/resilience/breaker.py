"""Per-model circuit breakers: stop calling a model that keeps failing, try it again after a cooldown.

One breaker per model and credential. The client asks it right before a request leaves (after the
rate limiter's wait, so a breaker that opened meanwhile is honoured), and tells it how the request
went. With Redis (`SharedBreaker`) the replicas share each breaker: one opened through one replica
stops the others too; while Redis is unavailable, each process keeps its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

import anyio

from chutes_mcp.chutes.errors import BreakerOpenError
from chutes_mcp.shared.redis_store import StoreUnavailableError

if TYPE_CHECKING:
    from chutes_mcp.shared.redis_store import RedisStore

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOLDOWN_S = 30.0
# What a caller refused while the trial call is out is told to wait: the trial's outcome decides, and
# most calls end within seconds.
TRIAL_RETRY_S = 2.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    model: str
    state: BreakerState
    consecutive_failures: int
    retry_in_s: float


class Breaker(Protocol):
    model: str

    async def before_call(self, claim: bool = True) -> bool:
        """Raise `model_unavailable` (`BreakerOpenError`) without touching the network while open.

        `claim`: the request goes now, and takes a half-open breaker's one trial; False only asks
        (a request still waiting for its turn). True when this request took the trial."""
        ...

    async def release_trial(self) -> None:
        """The trial ended without a verdict on the model: the next request may be the trial."""
        ...

    async def record_success(self) -> None: ...

    async def record_failure(self) -> None:
        """Count a retryable failure (overload, cold chute, 5xx, network, timeout)."""
        ...

    async def snapshot(self) -> BreakerSnapshot: ...


def _refusal(model: str, failures: int, retry_in_s: float | None) -> BreakerOpenError:
    failed = f"{model} failed {failures} time{'' if failures == 1 else 's'} in a row"
    if retry_in_s is None:
        return BreakerOpenError(
            f"{failed}; one trial call is testing it now",
            retry_after_s=TRIAL_RETRY_S,
            hint=f"Use a fallback model, or retry {model} in a few seconds.",
        )
    retry_in = round(retry_in_s, 1)
    return BreakerOpenError(
        f"{failed}; calls to it are paused for {retry_in:g} s",
        retry_after_s=retry_in,
        hint=f"Use a fallback model, or retry {model} in {retry_in:.0f} s.",
    )


class CircuitBreaker:
    """Opens after `threshold` consecutive retryable failures; after `cooldown_s` lets one trial through."""

    def __init__(
        self,
        model: str,
        *,
        threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    async def before_call(self, claim: bool = True) -> bool:
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        now = self._clock()
        if state is BreakerState.OPEN and self._opened_at is not None:
            raise _refusal(self.model, self._failures, self._cooldown_s - (now - self._opened_at))
        # A trial that never reported back must not keep the breaker shut forever.
        if self._trial_started_at is None or now - self._trial_started_at >= self._cooldown_s:
            if claim:
                self._trial_started_at = now
            return claim
        raise _refusal(self.model, self._failures, None)

    async def release_trial(self) -> None:
        self._trial_started_at = None

    async def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_started_at = None

    async def record_failure(self) -> None:
        self._failures += 1
        self._trial_started_at = None
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()

    async def snapshot(self) -> BreakerSnapshot:
        state = self.state
        retry_in = 0.0
        if state is BreakerState.OPEN and self._opened_at is not None:
            retry_in = max(0.0, self._cooldown_s - (self._clock() - self._opened_at))
        return BreakerSnapshot(self.model, state, self._failures, round(retry_in, 3))


# The breaker's hash: failures, opened_at, trial_at (Redis' clock). ARGV[1]: the cooldown.
# Returns {state, seconds until it may close (open only), failures}: `trial` when the one trial is free
# (taken for the caller with ARGV[2] 'claim'), `half_open` while it is out.
_CHECK_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local fields = redis.call('HMGET', KEYS[1], 'failures', 'opened_at', 'trial_at')
local failures = tostring(tonumber(fields[1]) or 0)
local opened_at = tonumber(fields[2])
if not opened_at then return {'closed', '0', failures} end
local cooldown = tonumber(ARGV[1])
local open_for = opened_at + cooldown - now
if open_for > 0 then return {'open', string.format('%.3f', open_for), failures} end
local trial_at = tonumber(fields[3])
if (not trial_at) or now - trial_at >= cooldown then
  if ARGV[2] == 'claim' then redis.call('HSET', KEYS[1], 'trial_at', string.format('%.6f', now)) end
  return {'trial', '0', failures}
end
return {'half_open', '0', failures}
"""

# ARGV: the threshold, how long the hash outlives its last failure (s).
_FAILURE_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HDEL', KEYS[1], 'trial_at')
if redis.call('HEXISTS', KEYS[1], 'opened_at') == 1 or failures >= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'opened_at', string.format('%.6f', now))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return failures
"""


class SharedBreaker:
    """The breaker of one model and credential in Redis; the process's own while Redis is unavailable."""

    def __init__(
        self, store: RedisStore, identity: str, local: CircuitBreaker, *, threshold: int, cooldown_s: float
    ) -> None:
        self.model = local.model
        self._store = store
        self._key = store.key("breaker", identity, local.model)
        self._local = local
        self._threshold = threshold
        self._cooldown_s = cooldown_s

    async def _read(self, claim: bool) -> tuple[str, float, int]:
        state, open_for, failures = await self._store.script(
            _CHECK_LUA, [self._key], [f"{self._cooldown_s:.6f}", "claim" if claim else "look"]
        )
        return str(state), float(open_for), int(failures)

    async def before_call(self, claim: bool = True) -> bool:
        try:
            state, open_for, failures = await self._read(claim=claim)
        except StoreUnavailableError:
            return await self._local.before_call(claim)
        if state == "open":
            raise _refusal(self.model, failures, open_for)
        if state == "half_open":
            raise _refusal(self.model, failures, None)
        return claim and state == "trial"

    async def release_trial(self) -> None:
        await self._local.release_trial()
        with contextlib.suppress(StoreUnavailableError):
            await self._store.run(lambda client: client.hdel(self._key, "trial_at"))

    async def record_success(self) -> None:
        await self._local.record_success()
        with contextlib.suppress(StoreUnavailableError):
            await self._store.run(lambda client: client.delete(self._key))

    async def record_failure(self) -> None:
        try:
            await self._store.script(
                _FAILURE_LUA, [self._key], [self._threshold, int(max(self._cooldown_s * 10, 600))]
            )
        except StoreUnavailableError:
            await self._local.record_failure()

    async def snapshot(self) -> BreakerSnapshot:
        try:
            state, open_for, failures = await self._read(claim=False)
        except StoreUnavailableError:
            return await self._local.snapshot()
        shown = BreakerState.HALF_OPEN if state == "trial" else BreakerState(state)
        return BreakerSnapshot(self.model, shown, failures, open_for if state == "open" else 0.0)


class BreakerCall:
    """One request's turn at a breaker: asks it (as the rate limiter's check) and remembers whether the
    request took a half-open breaker's one trial. A trial that ends with no verdict on the model (the
    call cancelled, or an answer such as 402 or 426 that says nothing of its health) hands the trial on
    at once, instead of refusing every other call for a whole cooldown while telling them to come back
    in two seconds."""

    def __init__(self, breaker: Breaker) -> None:
        self.breaker = breaker
        self._holds_trial = False

    async def before_call(self, claim: bool = True) -> None:
        if self._holds_trial:
            return  # the trial's own second request (a resend after a refreshed token)
        self._holds_trial = await self.breaker.before_call(claim)

    async def no_verdict(self) -> None:
        if self._holds_trial:
            self._holds_trial = False
            # Even for a cancelled caller: the trial is not the caller's to keep.
            with anyio.CancelScope(shield=True):
                await self.breaker.release_trial()


class BreakerRegistry:
    """One breaker per model id, created on first use; shared through Redis when there is a store."""

    def __init__(
        self,
        *,
        threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
        store: RedisStore | None = None,
        identity: str = "",
    ) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._store = store
        self._identity = identity
        self._breakers: dict[str, Breaker] = {}

    def get(self, model: str) -> Breaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            local = CircuitBreaker(
                model, threshold=self._threshold, cooldown_s=self._cooldown_s, clock=self._clock
            )
            breaker = local
            if self._store is not None:
                breaker = SharedBreaker(
                    self._store,
                    self._identity,
                    local,
                    threshold=self._threshold,
                    cooldown_s=self._cooldown_s,
                )
            self._breakers[model] = breaker
        return breaker

    async def snapshots(self) -> list[BreakerSnapshot]:
        return [await breaker.snapshot() for breaker in self._breakers.values()]
