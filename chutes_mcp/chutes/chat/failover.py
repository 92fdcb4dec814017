"""Run one chat call across its candidate models: stream, report progress, fail over, check the answer.

Failover happens only before the first token: a model that is missing, cold, saturated or failing is
left for the next candidate, while errors the next model would hit as well (credentials, quota, a bad
request, TEE refusal) and anything after content has started end the call. One deadline spans all
candidates. Every attempt is recorded, and every billed attempt counts in the usage and the cost,
each attempt's own and the total.
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
    ProgressBudget,
    ProgressCallback,
    ProgressThrottle,
    ProgressUpdate,
    tail,
)
from chutes_mcp.chutes.chat.reasoning import is_empty_answer
from chutes_mcp.chutes.chat.reasoning_switches import can_think_less, wanted_thinking
from chutes_mcp.chutes.chat.request import ChatRequest
from chutes_mcp.chutes.errors import ChutesError, ChutesTimeoutError, EmptyAnswerError, LimiterRefusedError
from chutes_mcp.chutes.types import (
    ChatEvent,
    ChatResult,
    Done,
    QuotaHeaders,
    ReasoningDelta,
    TextDelta,
    Usage,
    UsageEvent,
)

FAILOVER_CODES = frozenset(
    {"model_unavailable", "model_not_found", "rate_limited", "upstream_error", "network", "timeout"}
)
"""Failures another model may not have. The rest (auth_*, quota_exhausted, bad_request, tee_required)
would fail the same way on every candidate."""

PriceLookup = Callable[[str], TokenPrices | None]
TextListener = Callable[[str], None]
"""Hears each piece of the answer as it streams (a local display); must return at once."""


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
    usage: Usage | None = None
    """What Chutes billed for this attempt; None when it billed nothing or did not say."""


@dataclass(frozen=True, slots=True)
class ChatOutcome:
    result: ChatResult
    attempts: tuple[Attempt, ...]
    cost_usd: float | None
    """All billed attempts together; None when a billed model's prices or usage are unknown."""
    usage: Usage | None
    """The tokens of all billed attempts together, so it agrees with `cost_usd`."""
    quota: QuotaHeaders
    """The daily request quota after the call, where Chutes says it."""
    ttft_ms: int | None
    """From the start of the call (failed attempts included) to the first streamed token."""
    latency_ms: int
    retried_without_thinking: bool


def _summed(usages: Sequence[Usage]) -> Usage | None:
    if not usages:
        return None
    if len(usages) == 1:
        return usages[0]
    return Usage(
        prompt_tokens=sum(u.prompt_tokens for u in usages),
        completion_tokens=sum(u.completion_tokens for u in usages),
        total_tokens=sum(u.total_tokens for u in usages),
        cached_tokens=sum(u.cached_tokens for u in usages),
    )


def quota_after(quota: QuotaHeaders) -> QuotaHeaders:
    """The quota once this request is counted.

    Chutes' headers give the count from before the request, and it counts each answered request once
    (reference §7.2, §7.4). Left as sent when Chutes does not count this caller's requests (no headers,
    or the 0/0/0 of a pay-as-you-go key).
    """
    if not quota.total or quota.used is None:
        return quota
    remaining = None if quota.remaining is None else max(quota.remaining - 1, 0)
    return quota.model_copy(update={"used": quota.used + 1, "remaining": remaining})


def _ms(since: float) -> int:
    return round((time.monotonic() - since) * 1000)


class _ChatRun:
    def __init__(
        self,
        client: ChatStreamer,
        prices: PriceLookup,
        deadline_s: float,
        on_progress: ProgressCallback | None,
        on_text: TextListener | None = None,
        budget: ProgressBudget | None = None,
    ) -> None:
        self._client = client
        self._prices = prices
        self._deadline_s = deadline_s
        self._on_progress = on_progress
        self._on_text = on_text
        self._throttle = ProgressThrottle(budget or ProgressBudget())
        self._started_at = time.monotonic()
        self._ends_at = anyio.current_time() + deadline_s
        self._first_token_at: float | None = None
        self.tokens = 0  # across attempts, so reported progress never goes down
        self.attempts: list[Attempt] = []
        self.costs: list[float | None] = []
        self.usages: list[Usage] = []

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
        on_text = self._on_text
        async with aclosing(self._client.chat_stream(request, enclosed=True)) as events:
            async for event in events:
                accumulator.add(event)
                if isinstance(event, UsageEvent | Done):
                    continue
                if on_text is not None and isinstance(event, TextDelta):
                    on_text(event.text)
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
            # Asleep until a heartbeat would be due: once per `every_s` at most, not a poll per stream.
            await anyio.sleep(self._throttle.until_heartbeat_s(every_s))
            silent = self._throttle.heartbeat_due(every_s)
            if silent is not None:
                value = self._throttle.value(self.tokens)
                await on_progress(ProgressUpdate(self.tokens, "", False, value, waiting_s=silent))

    def remaining_s(self) -> float:
        return self._ends_at - anyio.current_time()

    def record(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    def bill(self, result: ChatResult) -> float | None:
        """Count an answered attempt; its cost, None when its usage or prices are unknown."""
        prices = self._prices(result.model)
        usage = result.usage
        cost = cost_usd(usage, prices) if usage is not None and prices is not None else None
        self.costs.append(cost)
        if usage is not None:
            self.usages.append(usage)
        return cost

    def outcome(self, result: ChatResult, retried_without_thinking: bool) -> ChatOutcome:
        total = None if None in self.costs else sum(cost for cost in self.costs if cost is not None)
        ttft = self._first_token_at
        return ChatOutcome(
            result=result,
            attempts=tuple(self.attempts),
            cost_usd=total,
            usage=_summed(self.usages) if len(self.usages) == len(self.costs) else None,
            quota=quota_after(result.meta.quota),
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
    on_text: TextListener | None = None,
    retry_without_thinking: bool = False,
    heartbeat_s: float = HEARTBEAT_S,
    progress_budget: ProgressBudget | None = None,
) -> ChatOutcome:
    """Ask `models` in order (the `model` of `request` is replaced) until one answers. `progress_budget`
    is shared by the calls of a process (by default each call has one of its own)."""
    budget = progress_budget or ProgressBudget()
    run = _ChatRun(client, prices, deadline_s, on_progress, on_text, budget)
    if on_progress is None:
        return await _attempts(run, request, models, deadline_s, retry_without_thinking)
    # Only a caller that listens to progress pays for the heartbeat's task group. The call's own
    # failure is carried out of the group by hand: raised inside, it would leave wrapped in an
    # ExceptionGroup instead of as the typed error it is.
    outcome: ChatOutcome | None = None
    failure: Exception | None = None
    with budget.streaming():
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
            # Every candidate waits in the same credential's line: another model would be refused too.
            shared_limit = isinstance(exc, LimiterRefusedError)
            if last or exc.code not in FAILOVER_CODES or run.tokens > tokens_before or shared_limit:
                raise run.final(exc) from None
            index += 1
            continue
        cost = run.bill(result)
        retries = len(result.meta.retries)
        if not is_empty_answer(result):
            run.record(Attempt(model, "ok", 200, _ms(started), retries, cost, result.usage))
            return run.outcome(result, retried)
        run.record(Attempt(model, "empty_answer", 200, _ms(started), retries, cost, result.usage))
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
