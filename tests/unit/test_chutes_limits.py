from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from chutes_mcp.chutes.errors import ModelUnavailableError
from chutes_mcp.chutes.resilience.breaker import BreakerRegistry, BreakerState
from chutes_mcp.chutes.resilience.limiter import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_a_burst_then_spaces_requests() -> None:
    clock = Clock()
    limiter = RateLimiter(600, 10, clock=clock)  # one request every 0.1 s after a burst of 10
    waits = [limiter.reserve() for _ in range(13)]
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([0.1, 0.2, 0.3])
    clock.now += 10.0  # idle long enough to refill the whole burst
    assert [limiter.reserve() for _ in range(10)] == [0.0] * 10
    state = limiter.state()
    assert (state.acquired, state.delayed) == (23, 3)


def test_limiter_never_exceeds_rate_plus_burst_in_any_window() -> None:
    clock = Clock()
    limiter = RateLimiter(60, 5, clock=clock)
    starts = [clock.now + limiter.reserve() for _ in range(200)]
    for first in starts:
        in_window = sum(1 for s in starts if first <= s < first + 60.0)
        assert in_window <= 60 + 5


def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    clock = Clock()
    registry = BreakerRegistry(threshold=3, cooldown_s=30, clock=clock)
    breaker = registry.get("m")
    for _ in range(2):
        breaker.before_call()
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(ModelUnavailableError) as caught:
        breaker.before_call()
    assert caught.value.retry_after_s == 30
    assert caught.value.retryable is False
    clock.now += 30
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.before_call()  # the one trial
    with pytest.raises(ModelUnavailableError):
        breaker.before_call()  # no second trial while the first is out
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN  # a failed trial re-opens at once
    clock.now += 30
    breaker.before_call()
    breaker.record_success()
    snapshot = registry.snapshots()[0]
    assert (snapshot.model, snapshot.state, snapshot.consecutive_failures) == ("m", BreakerState.CLOSED, 0)


async def _waiting(limiter: RateLimiter, count: int) -> None:
    while limiter.state().waiting < count:
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_a_waiter_cancelled_before_its_turn_gives_its_slot_back() -> None:
    clock = Clock()
    limiter = RateLimiter(60, 1, clock=clock)  # one request a second, no burst beyond the first
    limiter.reserve()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(limiter.acquire)  # its slot is 1 s away
            await _waiting(limiter, 1)
            group.cancel_scope.cancel()
    state = limiter.state()
    assert (state.waiting, state.returned) == (0, 1)
    assert limiter.reserve() == pytest.approx(1.0)  # the slot it gave back, not the one after


@pytest.mark.anyio
async def test_a_slot_with_a_later_reservation_behind_it_is_not_given_back() -> None:
    clock = Clock()
    limiter = RateLimiter(60, 1, clock=clock)
    limiter.reserve()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as later:
            with anyio.CancelScope() as first:
                async with anyio.create_task_group() as group:
                    group.start_soon(limiter.acquire)  # 1 s away
                    await _waiting(limiter, 1)
                    later.start_soon(limiter.acquire)  # 2 s away
                    await _waiting(limiter, 2)
                    first.cancel()
            assert limiter.state().returned == 0
            later.cancel_scope.cancel()
    # The later waiter was the last in line, so its slot went back; the first one's could not.
    assert limiter.state().returned == 1
    assert limiter.reserve() == pytest.approx(2.0)
