"""A process-wide request rate limiter: requests per minute with a burst.

Chutes answers bursts above about 60 requests a minute with 429 bans that grow up to a day, so every
request of the process passes through one limiter before it leaves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio

_EPSILON_S = 1e-9


@dataclass(frozen=True, slots=True)
class LimiterState:
    rate_per_minute: int
    burst: int
    acquired: int
    delayed: int
    total_wait_s: float
    waiting: int  # requests waiting for their slot now
    returned: int  # slots given back by requests cancelled before their turn


class RateLimiter:
    """A token bucket written as GCRA: one timestamp instead of a refill loop.

    Each acquisition reserves the next free slot without holding a lock across the wait, so waiters
    are served in arrival order. A waiter cancelled before its turn gives its slot back when no later
    reservation stands behind it, and otherwise costs that one slot.
    """

    def __init__(
        self, rate_per_minute: int, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_minute <= 0 or burst <= 0:
            raise ValueError("rate and burst must be positive")
        self._interval = 60.0 / rate_per_minute
        self._tolerance = (burst - 1) * self._interval
        self._rate = rate_per_minute
        self._burst = burst
        self._clock = clock
        self._next_free = 0.0
        self._acquired = 0
        self._delayed = 0
        self._total_wait = 0.0
        self._waiting = 0
        self._returned = 0

    def reserve(self) -> float:
        """Take the next slot and return how long to wait before using it."""
        now = self._clock()
        theoretical = max(self._next_free, now)
        self._next_free = theoretical + self._interval
        wait = theoretical - self._tolerance - now
        wait = wait if wait > _EPSILON_S else 0.0  # float residue of summed intervals is not a wait
        self._acquired += 1
        if wait > 0:
            self._delayed += 1
            self._total_wait += wait
        return wait

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait <= 0:
            return
        reserved_up_to = self._next_free
        self._waiting += 1
        try:
            await anyio.sleep(wait)
        except anyio.get_cancelled_exc_class():
            # The request was never sent. Moving up a reservation made after this one would put two
            # requests closer together than the rate allows, so only the last one is given back.
            if self._next_free == reserved_up_to:
                self._next_free -= self._interval
                self._returned += 1
            raise
        finally:
            self._waiting -= 1

    def state(self) -> LimiterState:
        return LimiterState(
            self._rate,
            self._burst,
            self._acquired,
            self._delayed,
            self._total_wait,
            self._waiting,
            self._returned,
        )
