from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from chutes_mcp.chutes.errors import BadRequestError, ChutesError, ModelUnavailableError, RateLimitedError
from chutes_mcp.chutes.resilience.retry import RetryPolicy, with_retries

FAST = RetryPolicy(max_retries=3, base_s=0.001, cap_s=0.004)


def script(*outcomes: ChutesError | str) -> tuple[list[int], Callable[[], Awaitable[str]]]:
    calls: list[int] = []

    async def operation() -> str:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, ChutesError):
            raise outcome
        return outcome

    return calls, operation


@pytest.mark.anyio
async def test_retries_retryable_errors_with_growing_ceilings() -> None:
    calls, operation = script(RateLimitedError("a", status=429), RateLimitedError("b", status=429), "ok")
    value, retries = await with_retries(operation, FAST, deadline_s=10)
    assert value == "ok"
    assert len(calls) == 3
    assert [r.ceiling_s for r in retries] == [0.001, 0.002]
    assert all(0 <= r.wait_s <= r.ceiling_s for r in retries)
    assert [r.code for r in retries] == ["rate_limited", "rate_limited"]


@pytest.mark.anyio
async def test_gives_up_after_max_retries_with_the_last_error() -> None:
    calls, operation = script(*[ModelUnavailableError("cold", status=503) for _ in range(5)])
    with pytest.raises(ModelUnavailableError) as caught:
        await with_retries(operation, FAST, deadline_s=10)
    assert len(calls) == 4
    assert len(caught.value.retries) == 3
    assert [r.ceiling_s for r in caught.value.retries] == [0.001, 0.002, 0.004]


@pytest.mark.anyio
async def test_does_not_retry_final_errors() -> None:
    calls, operation = script(BadRequestError("no"), "ok")
    with pytest.raises(BadRequestError):
        await with_retries(operation, FAST, deadline_s=10)
    assert len(calls) == 1


@pytest.mark.anyio
async def test_retry_after_is_honoured_and_bounded_by_the_deadline() -> None:
    calls, operation = script(RateLimitedError("a", retry_after_s=0.01), "ok")
    _, retries = await with_retries(operation, FAST, deadline_s=10)
    assert retries[0].wait_s == 0.01
    calls, operation = script(RateLimitedError("a", retry_after_s=60), "ok")
    with pytest.raises(RateLimitedError):  # waiting 60 s would pass the 1 s deadline: give up now
        await with_retries(operation, FAST, deadline_s=1)
    assert len(calls) == 1
