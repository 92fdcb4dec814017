"""The client against the simulator over loopback: successful calls, typed errors, retries, breaker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx2
import pytest
from client_support import API_KEY, MODEL, hello, sim_settings
from raw_server import answering, serving
from sim_process import SimProcess

from chutes_mcp.chutes.chat.chunks import ChatAccumulator
from chutes_mcp.chutes.chat.request import ChatRequest
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import (
    ChutesError,
    ChutesTimeoutError,
    ModelUnavailableError,
    QuotaExhaustedError,
)
from chutes_mcp.chutes.resilience.breaker import BreakerRegistry
from chutes_mcp.chutes.types import ChatEvent, Done, TextDelta, UsageEvent

pytestmark = pytest.mark.anyio


async def collect_text(stream: AsyncIterator[ChatEvent], into: list[str]) -> None:
    async for event in stream:
        if isinstance(event, TextDelta):
            into.append(event.text)


def chat_requests(sim: SimProcess) -> int:
    return int(sim.stats()["requests"].get("chat", {}).get("total", 0))


async def test_chat_returns_text_usage_invocation_id_and_quota(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        result = await client.chat(hello())
    assert result.text
    assert result.model.startswith("Qwen/Qwen3-32B")
    assert result.usage is not None
    assert result.usage.completion_tokens > 0
    assert result.meta.invocation_id
    assert result.meta.quota.rate_limit_user == "60"
    assert result.meta.attempts == 1


async def test_stream_yields_typed_events_ending_with_usage_and_done(sim: SimProcess, tmp_path: Path) -> None:
    accumulator = ChatAccumulator()
    events = []
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        async for event in client.chat_stream(hello()):
            events.append(event)
            accumulator.add(event)
    assert any(isinstance(e, TextDelta) for e in events)
    assert isinstance(events[-2], UsageEvent)
    assert isinstance(events[-1], Done)
    result = accumulator.result()
    assert result.text
    assert result.finish_reason in ("stop", "length")
    assert result.meta.invocation_id
    assert result.usage is not None


async def test_429_429_ok_succeeds_after_two_retries_with_growing_waits(
    sim: SimProcess, tmp_path: Path
) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path, fault="429,429,ok")) as client:
        result = await client.chat(hello())
    assert result.text
    assert result.meta.attempts == 3
    retries = result.meta.retries
    assert [r.code for r in retries] == ["rate_limited", "rate_limited"]
    assert [r.ceiling_s for r in retries] == [0.5, 1.0]
    assert all(0 <= r.wait_s <= r.ceiling_s for r in retries)
    assert chat_requests(sim) == 3


async def test_four_503s_end_as_model_unavailable_after_three_retries(
    sim: SimProcess, tmp_path: Path
) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path, fault="503,503,503,503")) as client:
        with pytest.raises(ModelUnavailableError) as caught:
            await client.chat(hello())
    assert caught.value.status == 503
    assert len(caught.value.retries) == 3
    assert chat_requests(sim) == 4


async def test_streams_are_retried_before_content(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path, fault="503,429-html,ok")) as client:
        events = [event async for event in client.chat_stream(hello())]
    done = events[-1]
    assert isinstance(done, Done)
    assert done.meta.attempts == 3


@pytest.mark.parametrize("fault", ["midstream-error", "drop"])
async def test_error_after_content_is_not_retried_and_keeps_the_partial_text(
    sim: SimProcess, tmp_path: Path, fault: str
) -> None:
    seen: list[str] = []
    async with ChutesClient(sim_settings(sim, tmp_path, fault=fault)) as client:
        with pytest.raises(ChutesError) as caught:
            await collect_text(client.chat_stream(hello(max_tokens=200)), seen)
    assert seen
    assert caught.value.partial_text == "".join(seen)
    assert caught.value.retryable is False
    assert caught.value.code in ("upstream_error", "network")
    assert chat_requests(sim) == 1


def _sse_chunk(content: str) -> bytes:
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL}
    chunk["choices"] = [{"index": 0, "delta": {"content": content}, "finish_reason": None}]
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


async def test_text_before_an_error_in_the_same_piece_still_reaches_the_caller(
    sim: SimProcess, tmp_path: Path
) -> None:
    # A proxy may merge the upstream's chunks: here two answer chunks and the error line arrive as one.
    events = _sse_chunk("Hel") + _sse_chunk("lo") + b'data: {"error": "Unhandled exception: boom"}\n\n'
    answer = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(events), events)
    )
    seen: list[str] = []
    async with serving(answering(answer)) as (port, _):
        settings = sim_settings(sim, tmp_path, api_base=f"http://127.0.0.1:{port}/v1", max_retries=0)
        async with ChutesClient(settings) as client:
            with pytest.raises(ChutesError) as caught:
                await collect_text(client.chat_stream(hello(max_tokens=20)), seen)
    assert seen == ["Hel", "lo"]
    assert caught.value.partial_text == "Hello"
    assert "boom" in caught.value.message
    assert caught.value.retryable is False


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        ("401", "auth_invalid", 401),
        ("402", "quota_exhausted", 402),
        ("403", "auth_scope", 403),
        ("426", "tee_required", 426),
        ("429-html", "rate_limited", 429),
        ("500", "upstream_error", 500),
    ],
)
async def test_faults_become_typed_errors(
    sim: SimProcess, tmp_path: Path, fault: str, code: str, status: int
) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path, fault=fault, max_retries=0)) as client:
        with pytest.raises(ChutesError) as caught:
            await client.chat(hello())
    error = caught.value
    assert (error.code, error.status) == (code, status)
    assert error.hint
    assert "<" not in error.message


async def test_a_wrong_key_gives_auth_invalid_with_a_hint(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path, api_key="not-a-chutes-key")) as client:
        with pytest.raises(ChutesError) as caught:
            await client.chat(hello())
    assert caught.value.code == "auth_invalid"
    assert "CHUTES_API_KEY" in caught.value.hint
    assert "chutes-mcp login" in caught.value.hint


async def test_unknown_model_is_model_not_found(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        with pytest.raises(ChutesError) as caught:
            await client.chat(
                ChatRequest(model="nobody/nothing", messages=[{"role": "user", "content": "x"}])
            )
    assert caught.value.code == "model_not_found"


async def test_breaker_opens_after_repeated_failures_and_its_state_is_readable(
    sim: SimProcess, tmp_path: Path
) -> None:
    settings = sim_settings(sim, tmp_path, fault="503,503,503,503,503,503", max_retries=4)
    async with ChutesClient(settings) as client:
        with pytest.raises(ModelUnavailableError):
            await client.chat(hello())
        assert chat_requests(sim) == 5
        with pytest.raises(ModelUnavailableError) as caught:
            await client.chat(hello())
        states = {snapshot.model: snapshot for snapshot in await client.breaker_states()}
    assert chat_requests(sim) == 5  # the open breaker answered without a request
    assert caught.value.retry_after_s is not None
    assert states[MODEL].state == "open"
    assert states[MODEL].consecutive_failures == 5


@pytest.mark.parametrize("ending", ["402", "cancelled"])
async def test_a_trial_call_that_ends_without_a_verdict_hands_the_trial_on(
    sim: SimProcess, tmp_path: Path, ending: str
) -> None:
    """A half-open breaker lets one trial call through. One that ends saying nothing of the model's
    health (cancelled, or refused for the account's quota) must not hold the trial through a whole
    cooldown, while everyone else is told "retry in 2 s"."""

    def next_chat(fault: str) -> None:
        httpx2.post(f"{sim.url}/_sim/scenario", json={"faults": [fault], "route": "chat"}).raise_for_status()

    async with ChutesClient(sim_settings(sim, tmp_path, max_retries=0)) as client:
        # One failure opens the breaker for a second; a trial left unreported would hold it a second more.
        client.breakers = BreakerRegistry(threshold=1, cooldown_s=1.0)
        next_chat("503")
        with pytest.raises(ModelUnavailableError):
            await client.chat(hello())
        await anyio.sleep(1.0)
        if ending == "402":
            next_chat("402")
            with pytest.raises(QuotaExhaustedError):
                await client.chat(hello())
        else:
            next_chat("slow-first-byte:5000")
            with anyio.move_on_after(0.2):
                await client.chat(hello())
        answer = await client.chat(hello())  # the trial now: it goes, and closes the breaker
        (state,) = await client.breaker_states()
    assert answer.text
    assert (state.state, state.consecutive_failures) == ("closed", 0)


async def test_models_list_falls_back_to_no_token_after_a_401(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path, api_key="cak_" + "0" * 36 + ".x")) as client:
        models = await client.list_models_raw()
    assert len(models) > 10
    assert all("id" in entry for entry in models)
    assert sim.stats()["requests"]["models"]["total"] == 2


async def test_embeddings_on_the_embed_host_and_a_per_chute_host(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        mega = await client.embed(["a", "b"], "BAAI/bge-m3")
        per_chute = await client.embed("a", "BAAI/bge-m3", base_url=f"{sim.url}/chute/chutes-baai-bge-m3/v1")
    assert len(mega.vectors) == 2
    assert len(mega.vectors[0]) == len(per_chute.vectors[0]) > 0
    assert mega.meta.invocation_id


async def test_account_and_quota(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        me = await client.me()
        quota = await client.quota()
    assert "username" in me
    assert "balance" in me
    assert quota.quota == "unlimited" or quota.quota > 0


async def test_closing_a_stream_early_closes_it_upstream(sim: SimProcess, tmp_path: Path) -> None:
    async with ChutesClient(sim_settings(sim, tmp_path, fault="slow-tokens:50")) as client:
        stream = client.chat_stream(hello(max_tokens=500))
        async for event in stream:
            if isinstance(event, TextDelta):
                break
        await stream.aclose()
    async with httpx2.AsyncClient() as http:
        for _ in range(100):
            streams = (await http.get(f"{sim.url}/_sim/stats")).json()["streams"]
            if streams["closed_early"] == 1:
                break
            await anyio.sleep(0.05)
    assert streams["closed_early"] == 1
    assert streams["open"] == 0


async def test_a_stream_that_outlives_its_deadline_times_out_mid_answer(
    sim: SimProcess, tmp_path: Path
) -> None:
    # Nothing encloses the stream here, so the client arms the deadline around each read itself.
    texts: list[str] = []
    started = anyio.current_time()
    async with ChutesClient(sim_settings(sim, tmp_path, fault="slow-tokens:100")) as client:
        with pytest.raises(ChutesTimeoutError):
            await collect_text(client.chat_stream(hello(max_tokens=100, timeout_s=0.6)), texts)
    assert texts, "the deadline passed before the first token"
    assert anyio.current_time() - started < 5, "the whole 10 s answer was waited for"


def test_api_key_constant_is_well_formed() -> None:
    from chutes_mcp.chutes.auth.credentials import API_KEY_RE

    assert API_KEY_RE.match(API_KEY)
