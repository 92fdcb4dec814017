"""Running a chat across candidates with a scripted client: failover, empty answers, cost, progress."""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

import anyio
import pytest

from chutes_mcp.chutes.chat.cost import TokenPrices
from chutes_mcp.chutes.chat.failover import FAILOVER_CODES, quota_after, run_chat
from chutes_mcp.chutes.chat.progress import ProgressBudget, ProgressThrottle, ProgressUpdate
from chutes_mcp.chutes.chat.reasoning import clip_reasoning, is_empty_answer
from chutes_mcp.chutes.chat.request import ChatRequest
from chutes_mcp.chutes.errors import (
    AuthInvalidError,
    BadRequestError,
    ChutesError,
    EmptyAnswerError,
    ModelNotFoundError,
    ModelUnavailableError,
    NetworkError,
    QuotaExhaustedError,
    RateLimitedError,
    TeeRequiredError,
)
from chutes_mcp.chutes.types import (
    ChatEvent,
    ChatResult,
    Done,
    QuotaHeaders,
    ReasoningDelta,
    ResponseMeta,
    TextDelta,
    ToolCall,
    Usage,
    UsageEvent,
)

pytestmark = pytest.mark.anyio

PRICES = TokenPrices(prompt=1.0, completion=2.0)
REQUEST = ChatRequest(model="", messages=[{"role": "user", "content": "hi"}], max_tokens=10)

Script = ChutesError | list[ChatEvent]


def answer(text: str, finish: str = "stop", reasoning: str = "") -> list[ChatEvent]:
    events: list[ChatEvent] = [ReasoningDelta(reasoning)] if reasoning else []
    events += [TextDelta(piece) for piece in re.findall(r"\S+\s*", text)]
    return [
        *events,
        UsageEvent(Usage(prompt_tokens=10, completion_tokens=5)),
        Done(finish, "m", ResponseMeta()),
    ]


class ScriptedClient:
    """Answers each request with the next script entry: events to stream, or an error to raise."""

    def __init__(
        self, *scripts: Script, fail_after_first: ChutesError | None = None, first_token_after_s: float = 0.0
    ) -> None:
        self.scripts = list(scripts)
        self.requests: list[ChatRequest] = []
        self.closed = 0
        self.fail_after_first = fail_after_first
        self.first_token_after_s = first_token_after_s

    async def chat_stream(self, request: ChatRequest, *, enclosed: bool) -> AsyncGenerator[ChatEvent, None]:
        self.requests.append(request)
        script = self.scripts.pop(0)
        try:
            if isinstance(script, ChutesError):
                raise script
            await anyio.sleep(self.first_token_after_s)
            for index, event in enumerate(script):
                yield event
                if index == 0 and self.fail_after_first is not None:
                    raise self.fail_after_first
        finally:
            self.closed += 1


@pytest.mark.parametrize(
    ("error", "fails_over"),
    [
        (ModelUnavailableError("cold", status=503), True),
        (ModelNotFoundError("gone", status=404), True),
        (RateLimitedError("busy", status=429), True),
        (NetworkError("reset"), True),
        (AuthInvalidError("bad key", status=401), False),
        (QuotaExhaustedError("broke", status=402), False),
        (BadRequestError("bad", status=400), False),
        (TeeRequiredError("no tee", status=426), False),
    ],
)
async def test_which_errors_fail_over(error: ChutesError, fails_over: bool) -> None:
    client = ScriptedClient(error, answer("fine then"))
    if fails_over:
        outcome = await run_chat(client, REQUEST, ["a", "b"], prices=lambda _: PRICES, deadline_s=30)
        assert [(a.model, a.outcome) for a in outcome.attempts] == [("a", error.code), ("b", "ok")]
        assert outcome.result.text == "fine then"
    else:
        with pytest.raises(type(error)):
            await run_chat(client, REQUEST, ["a", "b"], prices=lambda _: PRICES, deadline_s=30)
        assert len(client.requests) == 1


async def test_only_the_last_candidate_is_retried_in_place() -> None:
    client = ScriptedClient(answer("x"))
    await run_chat(client, REQUEST, ["a"], prices=lambda _: PRICES, deadline_s=30)
    assert client.requests[0].failover_codes == frozenset()
    client = ScriptedClient(answer("x"))
    await run_chat(client, REQUEST, ["a", "b"], prices=lambda _: PRICES, deadline_s=30)
    assert client.requests[0].failover_codes == FAILOVER_CODES


async def test_all_candidates_failing_names_every_attempt() -> None:
    client = ScriptedClient(
        ModelUnavailableError("cold", status=503), ModelUnavailableError("cold", status=503)
    )
    with pytest.raises(
        ModelUnavailableError, match=r"tried a: model_unavailable \(503\); b: model_unavailable"
    ):
        await run_chat(client, REQUEST, ["a", "b"], prices=lambda _: PRICES, deadline_s=30)


async def test_no_failover_after_content() -> None:
    client = ScriptedClient(
        answer("partial answer"), answer("other"), fail_after_first=NetworkError("dropped")
    )
    with pytest.raises(NetworkError):
        await run_chat(client, REQUEST, ["a", "b"], prices=lambda _: PRICES, deadline_s=30)
    assert len(client.requests) == 1
    assert client.closed == 1


@pytest.mark.parametrize(
    ("retry", "thinking", "requests", "error"),
    [
        (False, None, 1, True),
        (True, None, 2, False),
        (True, False, 1, True),  # thinking already off: a retry would change nothing
    ],
)
async def test_empty_answer(retry: bool, thinking: bool | None, requests: int, error: bool) -> None:
    client = ScriptedClient(answer("", finish="length", reasoning="hmm"), answer("the answer"))
    request = ChatRequest(model="", messages=REQUEST.messages, max_tokens=5, thinking=thinking)
    call = run_chat(
        client, request, ["a"], prices=lambda _: PRICES, deadline_s=30, retry_without_thinking=retry
    )
    if error:
        with pytest.raises(EmptyAnswerError):
            await call
    else:
        outcome = await call
        assert outcome.retried_without_thinking
        assert [a.outcome for a in outcome.attempts] == ["empty_answer", "ok"]
        assert client.requests[1].thinking is False
        # both attempts were billed: 2 × (10 × $1 + 5 × $2) per 1M tokens
        assert outcome.cost_usd == pytest.approx(2 * 20 / 1_000_000)
    assert len(client.requests) == requests


@pytest.mark.parametrize(
    ("model", "thinking", "requests"),
    [
        ("deepseek-ai/DeepSeek-R1-TEE", None, 1),  # always reasons, no lower effort: a retry would repeat it
        ("openai/gpt-oss-120b-TEE", None, 2),  # always reasons, but its lowest effort is worth a try
        ("openai/gpt-oss-120b-TEE", False, 1),  # already at its lowest effort
    ],
)
async def test_retry_without_thinking_only_where_thinking_can_go_down(
    model: str, thinking: bool | None, requests: int
) -> None:
    client = ScriptedClient(answer("", finish="length", reasoning="hmm"), answer("the answer"))
    request = ChatRequest(model="", messages=REQUEST.messages, max_tokens=5, thinking=thinking)
    call = run_chat(
        client, request, [model], prices=lambda _: PRICES, deadline_s=30, retry_without_thinking=True
    )
    if requests == 2:
        assert (await call).retried_without_thinking
    else:
        with pytest.raises(EmptyAnswerError) as raised:
            await call
        assert ("always reasons" in raised.value.hint) is (thinking is None)
    assert len(client.requests) == requests


async def test_usage_cost_and_quota_agree_across_attempts() -> None:
    """After retry_without_thinking both attempts are billed: the total usage and cost count both,
    each attempt carries its own, and the quota is the one after the call (Chutes' headers count the
    requests before each one)."""
    first = answer("", finish="length", reasoning="hmm")
    second = answer("the answer")
    first[-1] = Done("length", "m", ResponseMeta(quota=QuotaHeaders(total=200, used=7, remaining=193)))
    second[-1] = Done("stop", "m", ResponseMeta(quota=QuotaHeaders(total=200, used=8, remaining=192)))
    outcome = await run_chat(
        ScriptedClient(first, second),
        REQUEST,
        ["a"],
        prices=lambda _: PRICES,
        deadline_s=30,
        retry_without_thinking=True,
    )
    per_attempt = [(a.usage, a.cost_usd) for a in outcome.attempts]
    one = Usage(prompt_tokens=10, completion_tokens=5)
    assert per_attempt == [(one, pytest.approx(20 / 1_000_000))] * 2
    assert outcome.usage == Usage(prompt_tokens=20, completion_tokens=10)
    assert outcome.cost_usd == pytest.approx(sum(cost for _, cost in per_attempt))
    assert (outcome.quota.used, outcome.quota.remaining, outcome.quota.total) == (9, 191, 200)


@pytest.mark.parametrize(
    ("sent", "after"),
    [
        (QuotaHeaders(total=200, used=199, remaining=1), (200, 0)),
        (QuotaHeaders(total=0, used=0, remaining=0), (0, 0)),  # a pay-as-you-go key: not counted
        (QuotaHeaders(), (None, None)),  # Chutes did not say
    ],
)
def test_quota_after_counts_this_request(sent: QuotaHeaders, after: tuple[int | None, int | None]) -> None:
    counted = quota_after(sent)
    assert (counted.used, counted.remaining) == after


async def test_the_answer_is_heard_as_it_streams() -> None:
    heard: list[str] = []
    outcome = await run_chat(
        ScriptedClient(answer("one two three")),
        REQUEST,
        ["a"],
        prices=lambda _: PRICES,
        deadline_s=30,
        on_text=heard.append,
    )
    assert heard == ["one ", "two ", "three"]
    assert "".join(heard) == outcome.result.text


async def test_cost_is_unknown_when_a_price_is() -> None:
    outcome = await run_chat(
        ScriptedClient(answer("x")), REQUEST, ["a"], prices=lambda _: None, deadline_s=30
    )
    assert outcome.cost_usd is None


async def test_progress_starts_at_the_first_token_and_only_climbs() -> None:
    updates: list[ProgressUpdate] = []

    async def on_progress(update: ProgressUpdate) -> None:
        updates.append(update)

    client = ScriptedClient(answer("", finish="length", reasoning="hmm"), answer("one two three"))
    await run_chat(
        client,
        REQUEST,
        ["a"],
        prices=lambda _: PRICES,
        deadline_s=30,
        on_progress=on_progress,
        retry_without_thinking=True,
    )
    assert updates[0] == ProgressUpdate(tokens=1, text_tail="", thinking=True, value=1.0)
    assert updates[0].message() == "1 tokens (thinking)"


@pytest.mark.anyio
async def test_a_silent_model_gets_heartbeats_with_increasing_values() -> None:
    updates: list[ProgressUpdate] = []

    async def on_progress(update: ProgressUpdate) -> None:
        updates.append(update)

    client = ScriptedClient(answer("one two three"), first_token_after_s=0.3)
    await run_chat(
        client,
        REQUEST,
        ["a"],
        prices=lambda _: PRICES,
        deadline_s=30,
        on_progress=on_progress,
        heartbeat_s=0.05,
    )
    beats = [update for update in updates if update.waiting_s is not None]
    assert beats
    assert beats[0].tokens == 0
    assert "waiting for the model" in beats[0].message()
    values = [update.value for update in updates]
    assert values == sorted(set(values))  # strictly increasing, heartbeats and tokens alike
    assert updates[-1].tokens >= 1


@pytest.mark.anyio
async def test_a_failure_with_progress_on_is_the_typed_error() -> None:
    async def on_progress(update: ProgressUpdate) -> None:
        return None

    client = ScriptedClient(RateLimitedError("busy", status=429))
    with pytest.raises(RateLimitedError):
        await run_chat(
            client, REQUEST, ["a"], prices=lambda _: PRICES, deadline_s=30, on_progress=on_progress
        )


def test_throttle() -> None:
    now = [0.0]
    throttle = ProgressThrottle(ProgressBudget(interval_s=0.25), clock=lambda: now[0])
    due = []
    for step in range(11):
        now[0] = step * 0.1
        due.append(throttle.due())
    assert due == [True, False, False, True, False, False, True, False, False, True, False]


@pytest.mark.parametrize(
    ("text", "tool_calls", "finish", "empty"),
    [
        ("", (), "length", True),
        ("  ", (), "length", True),
        ("", (), "stop", False),
        ("words", (), "length", False),
        ("", (ToolCall(index=0, name="f"),), "length", False),
    ],
)
def test_is_empty_answer(text: str, tool_calls: tuple[ToolCall, ...], finish: str, empty: bool) -> None:
    result = ChatResult(text=text, tool_calls=tool_calls, finish_reason=finish, model="m")
    assert is_empty_answer(result) is empty


@pytest.mark.parametrize(
    ("text", "limit", "kept", "cut"),
    [("abcdef", 10, "abcdef", 0), ("abcdef", 4, "cdef", 2), ("", 4, "", 0)],
)
def test_clip_reasoning(text: str, limit: int, kept: str, cut: int) -> None:
    assert clip_reasoning(text, limit) == (kept, cut)


@pytest.mark.parametrize(
    ("streams", "interval_s"), [(0, 0.25), (1, 0.25), (100, 0.25), (200, 0.5), (1000, 2.5)]
)
def test_progress_budget_widens_each_streams_interval_past_its_share(streams: int, interval_s: float) -> None:
    budget = ProgressBudget(per_s=400, interval_s=0.25)
    budget.streams = streams
    assert budget.interval() == interval_s


def test_throttle_follows_the_budget_as_streams_come_and_go() -> None:
    now = [0.0]
    budget = ProgressBudget(per_s=400, interval_s=0.25)
    throttle = ProgressThrottle(budget, clock=lambda: now[0])
    with budget.streaming():
        budget.streams += 999  # a thousand streams in all: an update every 2.5 s each
        assert throttle.due()
        now[0] = 2.4
        assert not throttle.due()
        now[0] = 2.5
        assert throttle.due()
        budget.streams -= 999
        assert budget.streams == 1
        now[0] = 5.0
        assert throttle.due()
        now[0] = 5.25
        assert throttle.due()
    assert budget.streams == 0
