"""Run one chat call across its candidate models: stream, report progress, fail over, check the answer.

Failover happens only before the first token: a model that is missing, cold, saturated or failing is
left for the next candidate, while errors the next model would hit as well (credentials, quota, a bad
request, TEE refusal) and anything after content has started end the call. One deadline spans all
candidates. Every attempt is recorded, and every billed attempt counts in the cost.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Protocol

import anyio

from chutes_mcp.chutes.chat.chunks import ChatAccumulator
from chutes_mcp.chutes.chat.cost import TokenPrices, cost_usd
from chutes_mcp.chutes.chat.progress import (
    HEARTBEAT_S,
    ProgressCallback,
    ProgressThrottle,
    ProgressUpdate,
    tail,
)
from chutes_mcp.chutes.chat.reasoning import is_empty_answer
from chutes_mcp.chutes.chat.reasoning_switches import can_think_less, wanted_thinking
from chutes_mcp.chutes.chat.request import ChatRequest
from chutes_mcp.chutes.errors import ChutesError, ChutesTimeoutError, EmptyAnswerError
from chutes_mcp.chutes.types import ChatEvent, ChatResult, Done, ReasoningDelta, UsageEvent

FAILOVER_CODES = frozenset(
    {"model_unavailable", "model_not_found", "rate_limited", "upstream_error", "network", "timeout"}
)
"""Failures another model may not have. The rest (auth_*, quota_exhausted, bad_request, tee_required)
would fail the same way on every candidate."""

PriceLookup = Callable[[str], TokenPrices | None]


class ChatStreamer(Protocol):
    def chat_stream(self, request: ChatRequest, *, enclosed: bool) -> AsyncGenerator[ChatEvent, None]: ...


@dataclass(frozen=True, slots=True)
class Attempt:
    model: str
    outcome: str
    """`ok`, `empty_answer`, or the error code that ended the attempt."""
    status: int | None
    ms: int
    retries: int
    """Retries the client made on this model before the attempt ended."""
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class ChatOutcome:
    result: ChatResult
    attempts: tuple[Attempt, ...]
    cost_usd: float | None
    """All billed attempts together; None when a billed model's prices are unknown."""
    ttft_ms: int | None
    """From the start of the call (failed attempts included) to the first streamed token."""
    latency_ms: int
    retried_without_thinking: bool


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


class _ChatRun:
    def __init__(
        self,
        client: ChatStreamer,
        prices: PriceLookup,
        deadline_s: float,
        on_progress: ProgressCallback | None,
    ) -> None:
        self._client = client
        self._prices = prices
        self._deadline_s = deadline_s
        self._on_progress = on_progress
        self._throttle = ProgressThrottle()
        self._started_at = time.monotonic()
        self._ends_at = anyio.current_time() + deadline_s
        self._first_token_at: float | None = None
        self.tokens = 0  # across attempts, so reported progress never goes down
        self.attempts: list[Attempt] = []
        self.costs: list[float | None] = []

    async def stream(self, request: ChatRequest) -> ChatResult:
        accumulator = ChatAccumulator()
        # The run's deadline, around the whole stream (it ends before the request's `timeout_s`, which is
        # what remains of it): the client then needs no scope of its own around each read of the body.
        with anyio.CancelScope(deadline=self._ends_at) as deadline:
            await self._relay(request, accumulator)
        if deadline.cancelled_caught:
            error = ChutesTimeoutError(f"no complete answer within {self._deadline_s:g} s")
            error.partial_text = accumulator.text
            error.retryable = not accumulator.started
            raise error
        return accumulator.result()

    async def _relay(self, request: ChatRequest, accumulator: ChatAccumulator) -> None:
        on_progress = self._on_progress
        async with aclosing(self._client.chat_stream(request, enclosed=True)) as events:
            async for event in events:
                accumulator.add(event)
                if isinstance(event, UsageEvent | Done):
                    continue
                self.tokens += 1
                if self._first_token_at is None:
                    self._first_token_at = time.monotonic()
                if on_progress is not None and self._throttle.due():
                    text = accumulator.text
                    thinking = not text and isinstance(event, ReasoningDelta)
                    value = self._throttle.value(self.tokens)
                    await on_progress(ProgressUpdate(self.tokens, tail(text), thinking, value))
                    # Reading a stream whose data is already buffered never yields to the event loop, so
                    # the transport's writer would send this update only after the whole answer.
                    await anyio.lowlevel.checkpoint()

    async def heartbeat(self, on_progress: ProgressCallback, every_s: float) -> None:
        """Report every `every_s` that passes without a progress update, until cancelled."""
        while True:
            await anyio.sleep(every_s / 5)
            silent = self._throttle.heartbeat_due(every_s)
            if silent is not None:
                value = self._throttle.value(self.tokens)
                await on_progress(ProgressUpdate(self.tokens, "", False, value, waiting_s=silent))

    def remaining_s(self) -> float:
        return self._ends_at - anyio.current_time()

    def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    def bill(self, result: ChatResult) -> float | None:
        if result.usage is None:
            return None
        prices = self._prices(result.model)
        cost = cost_usd(result.usage, prices) if prices is not None else None
        self.costs.append(cost)
        return cost

    def outcome(self, result: ChatResult, retried_without_thinking: bool) -> ChatOutcome:
        total = None if None in self.costs else sum(cost for cost in self.costs if cost is not None)
        ttft = self._first_token_at
        return ChatOutcome(
            result=result,
            attempts=tuple(self.attempts),
            cost_usd=total,
            ttft_ms=None if ttft is None else round((ttft - self._started_at) * 1000),
            latency_ms=_ms(self._started_at),
            retried_without_thinking=retried_without_thinking,
        )

    def final(self, error: ChutesError) -> ChutesError:
        """The error that ends the call, naming every attempt when there was more than one."""
        if len(self.attempts) > 1:
            tried = "; ".join(
                f"{a.model}: {a.outcome}" + (f" ({a.status})" if a.status else "") for a in self.attempts
            )
            error.message = f"{error.message} [tried {tried}]"
            error.args = (error.message,)
        return error


async def run_chat(
    client: ChatStreamer,
    request: ChatRequest,
    models: Sequence[str],
    *,
    prices: PriceLookup,
    deadline_s: float,
    on_progress: ProgressCallback | None = None,
    retry_without_thinking: bool = False,
    heartbeat_s: float = HEARTBEAT_S,
) -> ChatOutcome:
    """Ask `models` in order (the `model` of `request` is replaced) until one answers."""
    run = _ChatRun(client, prices, deadline_s, on_progress)
    if on_progress is None:
        return await _attempts(run, request, models, deadline_s, retry_without_thinking)
    # Only a caller that listens to progress pays for the heartbeat's task group. The call's own
    # failure is carried out of the group by hand: raised inside, it would leave wrapped in an
    # ExceptionGroup instead of as the typed error it is.
    outcome: ChatOutcome | None = None
    failure: Exception | None = None
    async with anyio.create_task_group() as heartbeat:
        heartbeat.start_soon(run.heartbeat, on_progress, heartbeat_s)
        try:
            outcome = await _attempts(run, request, models, deadline_s, retry_without_thinking)
        except Exception as exc:
            failure = exc
        finally:
            heartbeat.cancel_scope.cancel()
    if failure is not None:
        raise failure
    assert outcome is not None
    return outcome


async def _attempts(
    run: _ChatRun,
    request: ChatRequest,
    models: Sequence[str],
    deadline_s: float,
    retry_without_thinking: bool,
) -> ChatOutcome:
    retried = False
    index = 0
    while True:
        model = models[index]
        last = index == len(models) - 1
        remaining = run.remaining_s()
        if remaining <= 0:
            raise run.final(ChutesTimeoutError(f"no answer within {deadline_s:g} s"))
        attempt = replace(
            request, model=model, timeout_s=remaining, failover_codes=frozenset() if last else FAILOVER_CODES
        )
        started = time.monotonic()
        tokens_before = run.tokens
        try:
            result = await run.stream(attempt)
        except ChutesError as exc:
            run.record(Attempt(model, exc.code, exc.status, _ms(started), len(exc.retries)))
            if last or exc.code not in FAILOVER_CODES or run.tokens > tokens_before:
                raise run.final(exc) from None
            index += 1
            continue
        cost = run.bill(result)
        retries = len(result.meta.retries)
        if not is_empty_answer(result):
            run.record(Attempt(model, "ok", 200, _ms(started), retries, cost))
            return run.outcome(result, retried)
        run.record(Attempt(model, "empty_answer", 200, _ms(started), retries, cost))
        # Thinking already off, or impossible to turn down: a retry would spend the same tokens again.
        stuck = not can_think_less(model)
        already_off = wanted_thinking(request.thinking, request.reasoning_effort) is False
        if not retry_without_thinking or retried or already_off or stuck:
            spent = result.usage.completion_tokens if result.usage else "all"
            raise run.final(
                EmptyAnswerError(
                    f"{result.model} used {spent} output tokens (max_tokens) and stopped before writing an answer",
                    invocation_id=result.meta.invocation_id,
                    hint=f"{model} always reasons, so thinking cannot be turned off: raise max_tokens."
                    if stuck
                    else None,
                )
            )
        # One more try on the same model, with thinking off so the budget goes to the answer.
        request = replace(request, thinking=False, reasoning_effort=None)
        retried = True
