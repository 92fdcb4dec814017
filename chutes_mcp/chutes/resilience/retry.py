"""Retries with exponential backoff and full jitter, built on tenacity.

tenacity supplies the loop, the stop rules (attempt count, and `stop_before_delay` for the overall
deadline) and the exponential ceiling. Hand-written here, because tenacity has no notion of them:
honouring a `Retry-After` the error carries, and recording each retry (why, how long) for the result.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import tenacity

from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.chutes.types import RetryRecord
from chutes_mcp.log import get_logger

BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0

T = TypeVar("T")
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int
    base_s: float = BACKOFF_BASE_S
    cap_s: float = BACKOFF_CAP_S
    give_up_on: frozenset[str] = frozenset()
    """Error codes raised at once instead of retried: the caller has another model to try for them."""

    def should_retry(self, exc: BaseException) -> bool:
        # A refusal of our own limiter or breaker comes with when it would pass, and that is after the
        # deadline or longer than a retry should wait: the caller hears it at once.
        return (
            isinstance(exc, ChutesError)
            and exc.retryable
            and not exc.refused_here
            and exc.code not in self.give_up_on
        )


class _FullJitterOrRetryAfter(tenacity.wait.wait_base):
    """Full jitter (a uniform draw under the exponential ceiling), unless the server said when."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._ceiling = tenacity.wait_exponential(multiplier=policy.base_s, max=policy.cap_s)
        self.last_ceiling = 0.0

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        self.last_ceiling = self._ceiling(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, ChutesError) and exc.retry_after_s is not None:
            return exc.retry_after_s
        return random.uniform(0.0, self.last_ceiling)


async def with_retries(
    operation: Callable[[], Awaitable[T]], policy: RetryPolicy, *, deadline_s: float
) -> tuple[T, tuple[RetryRecord, ...]]:
    """Run `operation` until it succeeds, fails for good, runs out of retries, or would pass the deadline.

    Returns the value and the retries made; a final failure is re-raised with `retries` attached.
    """
    # Nearly every call succeeds at once, and tenacity's machinery costs more than a fast upstream
    # answer's parsing: the first attempt runs bare, and only a retryable failure enters tenacity,
    # which replays that failure as its own first attempt so waits, stops and records are unchanged.
    try:
        return await operation(), ()
    except ChutesError as exc:
        if not policy.should_retry(exc) or policy.max_retries == 0:
            exc.retries = ()
            raise
        first_failure: ChutesError | None = exc

    async def replay_then_operation() -> T:
        nonlocal first_failure
        if first_failure is not None:
            failure, first_failure = first_failure, None
            raise failure
        return await operation()

    return await _with_tenacity(replay_then_operation, policy, deadline_s=deadline_s)


async def _with_tenacity(
    operation: Callable[[], Awaitable[T]], policy: RetryPolicy, *, deadline_s: float
) -> tuple[T, tuple[RetryRecord, ...]]:
    wait = _FullJitterOrRetryAfter(policy)
    records: list[RetryRecord] = []

    def record(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, ChutesError):  # only retryable ChutesErrors reach a sleep
            return
        sleep = state.next_action.sleep if state.next_action else 0.0
        records.append(
            RetryRecord(
                attempt=state.attempt_number,
                code=exc.code,
                status=exc.status,
                wait_s=round(sleep, 3),
                ceiling_s=wait.last_ceiling,
            )
        )
        log.info("chutes.retry", attempt=state.attempt_number, code=exc.code, status=exc.status, wait_s=sleep)

    retrying = tenacity.AsyncRetrying(
        sleep=anyio.sleep,
        stop=tenacity.stop_after_attempt(policy.max_retries + 1) | tenacity.stop_before_delay(deadline_s),
        wait=wait,
        retry=tenacity.retry_if_exception(policy.should_retry),
        before_sleep=record,
        reraise=True,
    )
    try:
        value: T = await retrying(operation)
    except ChutesError as exc:
        exc.retries = tuple(records)
        raise
    return value, tuple(records)
