from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from chutes_mcp.chutes.errors import BreakerOpenError, LimiterRefusedError
from chutes_mcp.chutes.resilience.breaker import BreakerRegistry, BreakerState
from chutes_mcp.chutes.resilience.limiter import LocalBucket, RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_spaces_requests() -> None:
    clock = Clock()
    bucket = LocalBucket(0.1, 0.9, clock)  # one request every 0.1 s after a burst of 10
    waits = []
    for _ in range(13):
        slot = bucket.take()
        waits.append(slot.wait_s)
        clock.now += slot.wait_s
        if slot.wait_s:
            assert bucket.take().wait_s == 0.0  # taken once its wait is over
    assert waits[:10] == [0.0] * 10
    assert waits[10:] == pytest.approx([0.1, 0.1, 0.1])
    clock.now += 10.0  # idle long enough to refill the whole burst
    assert [bucket.take().wait_s for _ in range(10)] == [0.0] * 10


def test_bucket_never_exceeds_rate_plus_burst_in_any_window() -> None:
    clock = Clock()
    bucket = LocalBucket(1.0, 4.0, clock)  # 60 a minute, burst 5
    starts = []
    while len(starts) < 200:
        slot = bucket.take()
        if slot.wait_s:
            clock.now += slot.wait_s
        else:
            starts.append(clock.now)
    for first in starts:
        in_window = sum(1 for s in starts if first <= s < first + 60.0)
        assert in_window <= 60 + 5


@pytest.mark.anyio
async def test_breaker_opens_after_threshold_and_half_opens_after_cooldown() -> None:
    clock = Clock()
    registry = BreakerRegistry(threshold=3, cooldown_s=30, clock=clock)
    breaker = registry.get("m")
    for _ in range(2):
        await breaker.before_call()
        await breaker.record_failure()
    assert (await breaker.snapshot()).state is BreakerState.CLOSED
    await breaker.record_failure()
    assert (await breaker.snapshot()).state is BreakerState.OPEN
    with pytest.raises(BreakerOpenError) as caught:
        await breaker.before_call()
    # Retryable, and when: the two agree.
    assert (caught.value.code, caught.value.retryable, caught.value.retry_after_s) == (
        "model_unavailable",
        True,
        30,
    )
    clock.now += 30
    assert (await breaker.snapshot()).state is BreakerState.HALF_OPEN
    await breaker.before_call()  # the one trial
    with pytest.raises(BreakerOpenError) as busy:
        await breaker.before_call()  # no second trial while the first is out
    assert busy.value.retryable
    assert busy.value.retry_after_s
    await breaker.record_failure()
    assert (await breaker.snapshot()).state is BreakerState.OPEN  # a failed trial re-opens at once
    clock.now += 30
    await breaker.before_call()
    await breaker.record_success()
    snapshot = (await registry.snapshots())[0]
    assert (snapshot.model, snapshot.state, snapshot.consecutive_failures) == ("m", BreakerState.CLOSED, 0)


async def _waiting(limiter: RateLimiter, count: int) -> None:
    while limiter.state().waiting < count:
        await anyio.lowlevel.checkpoint()


@pytest.mark.anyio
async def test_a_waiter_that_leaves_holds_nothing_and_the_next_moves_up() -> None:
    limiter = RateLimiter(60, 1)  # one request a second, no burst beyond the first
    await limiter.acquire()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as later:
            with anyio.CancelScope() as first:
                async with anyio.create_task_group() as group:
                    group.start_soon(limiter.acquire)  # its turn is 1 s away
                    await _waiting(limiter, 1)
                    later.start_soon(limiter.acquire)  # 2 s away, behind it
                    await _waiting(limiter, 2)
                    assert limiter.state().next_slot_in_s == pytest.approx(3.0, abs=0.2)
                    first.cancel()
            state = limiter.state()
            # The one behind moved up: a newcomer now waits for 2 slots, not 3.
            assert (state.waiting, state.abandoned, state.acquired) == (1, 1, 1)
            assert state.next_slot_in_s == pytest.approx(2.0, abs=0.2)
            later.cancel_scope.cancel()
    state = limiter.state()
    assert (state.waiting, state.abandoned, state.acquired) == (0, 2, 1)
    assert state.next_slot_in_s == pytest.approx(1.0, abs=0.2)  # only the slot actually taken counts


@pytest.mark.anyio
async def test_a_request_whose_turn_comes_after_its_deadline_is_refused_at_once() -> None:
    limiter = RateLimiter(60, 2)
    await limiter.acquire()
    await limiter.acquire()  # the burst is spent: the next turn is 1 s away
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(limiter.acquire)
            await _waiting(limiter, 1)
            with anyio.fail_after(1.5), pytest.raises(LimiterRefusedError) as refused:
                await limiter.acquire()  # its turn would be 2 s away
            group.cancel_scope.cancel()
    error = refused.value
    assert (error.code, error.retryable) == ("rate_limited", True)
    assert error.retry_after_s == pytest.approx(2.0, abs=0.2)
    assert limiter.state().refused == 1


@pytest.mark.anyio
async def test_a_request_alone_in_line_is_refused_when_its_wait_passes_its_deadline() -> None:
    limiter = RateLimiter(6, 1)  # one request every 10 s
    await limiter.acquire()
    with anyio.fail_after(1), pytest.raises(LimiterRefusedError) as refused:
        await limiter.acquire()
    assert refused.value.retry_after_s == pytest.approx(10.0, abs=0.2)
    assert limiter.state().waiting == 0


@pytest.mark.anyio
async def test_the_check_runs_once_the_turn_has_come_and_a_refusal_gives_the_slot_back() -> None:
    limiter = RateLimiter(600, 1)  # one request every 0.1 s
    await limiter.acquire()
    asked: list[bool] = []

    async def breaker(claim: bool) -> None:
        asked.append(claim)
        if claim:  # open by the time the request's turn has come
            raise BreakerOpenError("m failed 5 times in a row", retry_after_s=30)

    with anyio.fail_after(5):
        with pytest.raises(BreakerOpenError):
            await limiter.acquire(breaker)
        before = limiter.state().next_slot_in_s
        await limiter.acquire()  # the slot the refused request gave back
    assert asked == [False, True]  # asked while waiting, then (claiming) once its slot was taken
    state = limiter.state()
    assert (state.acquired, state.abandoned) == (2, 1)
    assert before == 0.0


def test_a_slot_goes_back_only_while_nobody_took_one_after_it() -> None:
    clock = Clock()
    bucket = LocalBucket(1.0, 1.0, clock)  # one a second, bursts of 2
    first = bucket.take()
    bucket.give_back(first)
    assert bucket.take().wait_s == 0.0
    assert bucket.take().wait_s == 0.0  # given back: the burst is whole again
    waiting = bucket.take()  # not taken: 1 s to wait
    assert waiting.wait_s == pytest.approx(1.0)
    bucket.give_back(waiting)  # nothing was taken, nothing goes back
    clock.now += 2.0
    mine, theirs = bucket.take(), bucket.take()
    assert (mine.wait_s, theirs.wait_s) == (0.0, 0.0)
    bucket.give_back(mine)  # someone took after it: moving theirs up would break the spacing
    assert bucket.take().wait_s == pytest.approx(1.0)


@pytest.mark.anyio
async def test_a_half_open_breakers_trial_that_waits_for_its_turn_is_still_the_trial() -> None:
    clock = Clock()
    breaker = BreakerRegistry(threshold=1, cooldown_s=30, clock=clock).get("m")
    await breaker.record_failure()
    clock.now += 30  # half-open: one trial may go
    limiter = RateLimiter(600, 1)
    await limiter.acquire()
    with anyio.fail_after(5):
        await limiter.acquire(breaker.before_call)  # waits 0.1 s for its turn, asked meanwhile
        with pytest.raises(BreakerOpenError) as second:
            await limiter.acquire(breaker.before_call)
    assert "one trial call is testing it now" in second.value.message
    assert limiter.state().acquired == 2
