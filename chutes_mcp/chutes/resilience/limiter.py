"""The request rate limiter of one Chutes credential: requests per minute with a burst.

Chutes answers bursts above about 60 requests a minute with 429 bans that grow up to a day, so every
request for a credential passes through that credential's limiter right before it leaves.

A bucket (GCRA: one timestamp, the theoretical arrival time) says whether a request may go now and,
if not, when it may. Requests that must wait stand in line in arrival order, and only the first in
line takes from the bucket, at the moment it is sent. Nothing is booked ahead, so a waiter that leaves
(its call cancelled, or timed out) leaves no capacity behind. The caller's check (the model's breaker)
runs once the slot is taken, so a breaker that opened during the wait is honoured; when it refuses, the
slot goes back (exactly: only while nobody took one after it). A newcomer whose turn would come after
its deadline (the nearest enclosing anyio deadline) is refused at once with `rate_limited` and the
wait in `retry_after_s`, rather than queueing only to time out; and each time the first in line
learns its wait, the whole line is checked again, so a waiter whose turn slipped past its deadline
(other replicas took slots meanwhile) is refused then, not left to time out.

With Redis (`RedisBucket`) every replica takes from one bucket per credential; the line itself stays
per process, and while Redis is unavailable the process takes from its own bucket.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from chutes_mcp.chutes.errors import LimiterRefusedError
from chutes_mcp.shared.redis_store import StoreUnavailableError

if TYPE_CHECKING:
    from chutes_mcp.shared.redis_store import RedisStore

_EPSILON_S = 1e-6  # float residue of summed intervals is not a wait

# KEYS[1]: the bucket. ARGV: interval and tolerance in seconds. Redis' clock, so replicas agree.
# Returns {taken (1/0), wait, theoretical arrival time from now, the bucket's value after a take}, as
# text: Lua numbers would be truncated to integers on the way out.
_TAKE_LUA = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0.000001 then
  return {'0', string.format('%.6f', wait), string.format('%.6f', tat - now), ''}
end
tat = tat + interval
local value = string.format('%.6f', tat)
redis.call('SET', KEYS[1], value, 'PX', math.ceil((tat - now) * 1000) + 1000)
return {'1', '0', string.format('%.6f', tat - now), value}
"""

# Give a slot back: only while the bucket still holds the value that take left (nobody took after it).
# ARGV: that value, the interval.
_GIVE_BACK_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], string.format('%.6f', tonumber(ARGV[1]) - tonumber(ARGV[2])), 'KEEPTTL')
return 1
"""


@dataclass(frozen=True, slots=True)
class Slot:
    wait_s: float
    """0.0 when the slot was taken; else how long until one is free."""
    debt_s: float
    """The bucket's theoretical arrival time, seconds from now, after this take."""
    mark: str = ""
    """The bucket's value after a take, so the slot can be given back; empty when none was taken."""
    shared: bool = False
    """Taken from the shared bucket (Redis), not this process's."""


class LocalBucket:
    """The GCRA bucket of this process."""

    def __init__(self, interval_s: float, tolerance_s: float, clock: Callable[[], float]) -> None:
        self._interval = interval_s
        self._tolerance = tolerance_s
        self._clock = clock
        self._tat = -math.inf

    def take(self) -> Slot:
        now = self._clock()
        tat = max(self._tat, now)
        wait = tat - self._tolerance - now
        if wait > _EPSILON_S:
            return Slot(wait, tat - now)
        self._tat = tat + self._interval
        return Slot(0.0, self._tat - now, mark=repr(self._tat))

    def give_back(self, slot: Slot) -> bool:
        if slot.mark != repr(self._tat):
            return False
        self._tat -= self._interval
        return True


class RedisBucket:
    """One bucket per credential in Redis, under an HMAC of the credential."""

    def __init__(self, store: RedisStore, identity: str, interval_s: float, tolerance_s: float) -> None:
        self._store = store
        self._key = store.key("limit", identity)
        self._args = (f"{interval_s:.6f}", f"{tolerance_s:.6f}")

    @property
    def available(self) -> bool:
        return self._store.health().state == "ok"

    async def take(self) -> Slot | None:
        """The slot, or None while Redis is unavailable."""
        try:
            taken, wait, debt, mark = await self._store.script(_TAKE_LUA, [self._key], self._args)
        except StoreUnavailableError:
            return None
        return Slot(0.0 if taken == "1" else float(wait), float(debt), mark=str(mark), shared=True)

    async def give_back(self, slot: Slot) -> bool:
        try:
            given = await self._store.script(_GIVE_BACK_LUA, [self._key], [slot.mark, self._args[0]])
        except StoreUnavailableError:
            return False
        return bool(given)


@dataclass(frozen=True, slots=True)
class LimiterState:
    rate_per_minute: int
    burst: int
    shared: str
    """Where the bucket is kept: `redis` (one per credential for every replica), `process`, or
    `process (Redis unavailable)` while this process falls back to its own."""
    acquired: int
    """Slots taken: requests sent."""
    delayed: int
    """Of those, how many waited for their slot."""
    total_wait_s: float
    """Time spent waiting in line, by every request that waited (sent, refused or gone)."""
    waiting: int
    """In line now."""
    refused: int
    """Refused at once (`rate_limited`): their turn would have come after their deadline."""
    abandoned: int
    """Left the line before their turn (cancelled, timed out, breaker open), holding nothing."""
    next_slot_in_s: float
    """How long a request arriving now would wait, as this process last saw the bucket."""


@dataclass(eq=False)
class _Waiter:
    deadline: float
    turn: anyio.Event = field(default_factory=anyio.Event)
    refused_wait_s: float | None = None


Check = Callable[[bool], Awaitable[None]]
"""Raises to stop a request (the model's breaker); its argument says whether the request goes now
(`True`: a half-open breaker's one trial is claimed for it) or is only being asked about while it waits."""


class RateLimiter:
    def __init__(
        self,
        rate_per_minute: int,
        burst: int,
        *,
        store: RedisStore | None = None,
        identity: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_minute <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self._rate = rate_per_minute
        self._burst = burst
        self._interval = 60.0 / rate_per_minute
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._local = LocalBucket(self._interval, self._tolerance, clock)
        self._shared = (
            None if store is None else RedisBucket(store, identity, self._interval, self._tolerance)
        )
        self._line: deque[_Waiter] = deque()
        # The bucket's theoretical arrival time on this process's clock, as the last take saw it.
        self._tat_at = -math.inf
        self._acquired = 0
        self._delayed = 0
        self._total_wait = 0.0
        self._refused = 0
        self._abandoned = 0

    def _wait_at(self, place: int, now: float) -> float:
        """How long the waiter with `place` others before it waits, as far as this process knows."""
        return max(0.0, self._tat_at + place * self._interval - self._tolerance - now)

    async def _take(self) -> Slot:
        slot = await self._shared.take() if self._shared is not None else None
        if slot is None:
            slot = self._local.take()
        self._tat_at = self._clock() + slot.debt_s
        return slot

    def _refusal(self, wait_s: float, deadline: float, now: float) -> LimiterRefusedError:
        self._refused += 1
        retry_after = math.ceil(wait_s * 10) / 10
        return LimiterRefusedError(
            f"this server keeps each Chutes credential to {self._rate} requests a minute (bursts of "
            f"{self._burst}); with {len(self._line)} waiting, this request's turn comes in {wait_s:.1f} s, "
            f"after its deadline (in {max(deadline - now, 0.0):.1f} s)",
            retry_after_s=retry_after,
            hint=f"Retry in {retry_after:g} s, or give the call a longer timeout_s. The limit keeps the "
            "key clear of Chutes' escalating 429 bans; the server's operator sets it with "
            "CHUTES_RATE_LIMIT_RPM and CHUTES_RATE_LIMIT_BURST.",
        )

    def _review(self, now: float) -> None:
        """Refuse every waiter whose turn, as now known, comes after its deadline."""
        kept = 0
        for waiter in list(self._line):
            wait = self._wait_at(kept, now)
            if now + wait > waiter.deadline:
                self._line.remove(waiter)
                waiter.refused_wait_s = wait
                waiter.turn.set()
            else:
                kept += 1

    async def _give_back(self, slot: Slot) -> None:
        if slot.shared and self._shared is not None:
            # Even for a cancelled caller: the slot is not the caller's to lose. Bounded by Redis' timeout.
            with anyio.CancelScope(shield=True):
                given = await self._shared.give_back(slot)
        else:
            given = self._local.give_back(slot)
        if given:
            self._tat_at -= self._interval

    async def acquire(self, check: Check | None = None) -> None:
        """Wait for this request's turn and take its slot, or raise `rate_limited` at once.

        `check` (the model's breaker) is asked before a request joins a line and while it waits, and
        then, claiming, once its slot is taken: a breaker that opened during the wait stops the request,
        and its slot goes back.
        """
        deadline = anyio.current_effective_deadline()
        arrived = self._clock()
        if self._line:
            if check is not None:
                await check(False)
            wait = self._wait_at(len(self._line), arrived)
            if arrived + wait > deadline:
                raise self._refusal(wait, deadline, arrived)
        waiter = _Waiter(deadline)
        self._line.append(waiter)
        taken = waited = False
        try:
            if self._line[0] is not waiter:
                waited = True
                await waiter.turn.wait()
            while waiter.refused_wait_s is None:
                slot = await self._take()
                if slot.wait_s == 0.0:
                    if check is not None:
                        try:
                            await check(True)
                        except BaseException:
                            await self._give_back(slot)
                            raise
                    taken = True
                    return
                self._review(self._clock())
                if waiter.refused_wait_s is None:
                    if check is not None:
                        await check(False)
                    waited = True
                    await anyio.sleep(slot.wait_s)
            raise self._refusal(waiter.refused_wait_s, deadline, self._clock())
        finally:
            self._leave(waiter, taken=taken, waited=waited, since=arrived)

    def _leave(self, waiter: _Waiter, *, taken: bool, waited: bool, since: float) -> None:
        if waiter in self._line:
            self._line.remove(waiter)
            if not taken:
                self._abandoned += 1
        # Whoever is first now may go; setting the event of a first that is already going changes nothing.
        if self._line:
            self._line[0].turn.set()
        if waited:
            self._total_wait += self._clock() - since
        if taken:
            self._acquired += 1
            self._delayed += waited

    def _where(self) -> str:
        if self._shared is None:
            return "process"
        return "redis" if self._shared.available else "process (Redis unavailable)"

    def state(self) -> LimiterState:
        return LimiterState(
            rate_per_minute=self._rate,
            burst=self._burst,
            shared=self._where(),
            acquired=self._acquired,
            delayed=self._delayed,
            total_wait_s=round(self._total_wait, 3),
            waiting=len(self._line),
            refused=self._refused,
            abandoned=self._abandoned,
            next_slot_in_s=round(self._wait_at(len(self._line), self._clock()), 3),
        )
