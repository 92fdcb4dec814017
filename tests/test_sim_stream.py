"""Streamed chat completions: SSE line shapes per engine, usage, tool-call deltas and stream stats."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import jsonschema
import pytest
from chat_support import AUTH, HELLO, SGLANG_MODEL, VLLM_MODEL, post_chat, sdk, session_headers, sse_chunks
from sim_process import SimProcess
from test_sim_chat import WEATHER_TOOL

# The live SGLang chunk quoted in the reference (§3.3): the simulator must use the same keys.
LIVE_SGLANG_CHUNK = json.loads(
    '{"id":"0ff9d21adf1d458e9b24575c5b1b8115","object":"chat.completion.chunk","created":1771352259,'
    '"model":"Qwen/Qwen3-32B","choices":[{"index":0,"delta":{"role":"assistant","content":"",'
    '"reasoning_content":null,"tool_calls":null},"logprobs":null,"finish_reason":null,"matched_stop":null}],'
    '"usage":null,"chutes_verification":"2b2b847d04afca72b5e532ce3b05feb2"}'
)


def _stream(sim: SimProcess, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx2.Response:
    return post_chat(sim, {**body, "stream": True}, headers)


@pytest.mark.parametrize("ask_for_usage", [False, True])
@pytest.mark.parametrize("model", [SGLANG_MODEL, VLLM_MODEL])
def test_sdk_streams_text_and_a_final_usage(sim: SimProcess, model: str, ask_for_usage: bool) -> None:
    options: dict[str, Any] = {"stream_options": {"include_usage": True}} if ask_for_usage else {}
    with sdk(sim) as client:
        chunks = list(client.chat.completions.create(model=model, messages=HELLO, stream=True, **options))  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) >= 20
    final = chunks[-1]
    assert final.choices == []
    assert final.usage is not None
    assert final.usage.completion_tokens > 0
    assert final.usage.total_tokens == final.usage.prompt_tokens + final.usage.completion_tokens
    assert {c.model for c in chunks} == {model}
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]


def test_stream_headers_and_line_shapes(sim: SimProcess) -> None:
    response = _stream(sim, {"model": VLLM_MODEL, "messages": HELLO})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache, no-transform"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["x-chutes-invocationid"]
    assert response.headers["x-chutes-quota-used"] == "0"
    chunks = sse_chunks(response.text)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert len({c["id"] for c in chunks}) == 1
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(len(c["chutes_verification"]) == 32 for c in chunks)
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens_details"] == {"cached_tokens": 0}


def test_vllm_chunks_carry_a_running_usage(sim: SimProcess) -> None:
    chunks = sse_chunks(_stream(sim, {"model": VLLM_MODEL, "messages": HELLO}).text)
    counts = [c["usage"]["completion_tokens"] for c in chunks]
    assert counts == sorted(counts)
    assert counts[0] == 0
    assert counts[-1] == chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 3


def test_sglang_chunks_spell_out_their_null_keys(sim: SimProcess) -> None:
    chunks = sse_chunks(_stream(sim, {"model": SGLANG_MODEL, "messages": HELLO}).text)
    first = chunks[0]
    assert list(first) == list(LIVE_SGLANG_CHUNK)
    assert list(first["choices"][0]) == list(LIVE_SGLANG_CHUNK["choices"][0])
    assert first["choices"][0]["delta"] == LIVE_SGLANG_CHUNK["choices"][0]["delta"]
    for chunk in chunks[:-1]:
        assert chunk["usage"] is None
        choice = chunk["choices"][0]
        assert list(choice["delta"]) == ["role", "content", "reasoning_content", "tool_calls"]
        assert "matched_stop" in choice
    assert chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 3


def test_streamed_text_is_the_non_streamed_answer(sim: SimProcess) -> None:
    body = {"model": VLLM_MODEL, "messages": HELLO, "seed": 3}
    whole = post_chat(sim, body).json()
    chunks = sse_chunks(_stream(sim, body).text)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("content") or "" for d in deltas) == whole["choices"][0]["message"]["content"]
    assert "".join(d.get("reasoning") or "" for d in deltas) == whole["choices"][0]["message"]["reasoning"]
    assert chunks[-1]["usage"]["completion_tokens"] == whole["usage"]["completion_tokens"]


def test_sglang_streams_reasoning_in_reasoning_content(sim: SimProcess) -> None:
    chunks = sse_chunks(_stream(sim, {"model": f"{SGLANG_MODEL}:THINKING", "messages": HELLO}).text)
    reasoning = "".join(c["choices"][0]["delta"]["reasoning_content"] or "" for c in chunks[:-1])
    assert len(reasoning.split()) >= 12


def test_a_small_budget_streams_only_reasoning_then_length(sim: SimProcess) -> None:
    chunks = sse_chunks(_stream(sim, {"model": VLLM_MODEL, "messages": HELLO, "max_tokens": 3}).text)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert not any(d.get("content") for d in deltas)
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


@pytest.mark.parametrize("model", [SGLANG_MODEL, VLLM_MODEL])
def test_sdk_streams_tool_calls(sim: SimProcess, model: str) -> None:
    with sdk(sim) as client:
        chunks = list(
            client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "Weather in Oslo via get_weather?"}],
                tools=[WEATHER_TOOL],  # type: ignore[list-item]
                stream=True,
            )
        )
    name, arguments, ids, finish = "", "", [], []
    for chunk in chunks:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        if choice.finish_reason:
            finish.append(choice.finish_reason)
        for call in choice.delta.tool_calls or ():
            assert call.index == 0
            if call.id:
                assert not arguments, "the name and id come first"
                ids.append(call.id)
                name += call.function.name if call.function and call.function.name else ""
            if call.function and call.function.arguments:
                arguments += call.function.arguments
    assert finish == ["tool_calls"]
    assert name == "get_weather"
    assert len(ids) == 1
    jsonschema.validate(json.loads(arguments), WEATHER_TOOL["function"]["parameters"])


def _wait_for(sim: SimProcess, check: Any) -> dict[str, Any]:
    # Disconnects reach the server asynchronously; poll until it has seen this one.
    deadline = time.monotonic() + 10
    stats = sim.stats()
    while not check(stats) and time.monotonic() < deadline:
        time.sleep(0.02)
        stats = sim.stats()
    return stats


def test_a_stream_the_client_abandons_is_counted(sim: SimProcess) -> None:
    headers = session_headers("slow-tokens:50")
    body = {"model": VLLM_MODEL, "messages": HELLO, "stream": True}
    with (
        httpx2.Client(timeout=30) as client,
        client.stream("POST", f"{sim.llm_base}/chat/completions", json=body, headers=headers) as response,
    ):
        first = next(response.iter_lines())
        assert first.startswith("data: ")
    stats = _wait_for(sim, lambda s: s["streams"]["closed_early"] == 1)
    assert stats["streams"]["closed_early"] == 1
    assert stats["streams"]["open"] == 0
    assert stats["streams"]["completed"] == 0


def test_streams_are_counted_and_connections_reused(sim: SimProcess) -> None:
    body = {"model": SGLANG_MODEL, "messages": HELLO, "stream": True}
    with httpx2.Client(timeout=30, headers=AUTH) as client:
        client.patch(f"{sim.url}/_sim/config", json={"ttft_ms": 5, "tokens_per_s": 2000})
        for _ in range(3):
            assert sse_chunks(client.post(f"{sim.llm_base}/chat/completions", json=body).text)
        stats = client.get(f"{sim.url}/_sim/stats").json()
    assert stats["streams"] == {"open": 0, "peak": 1, "completed": 3, "closed_early": 0}
    assert stats["tcp_connections"] == 1
    assert stats["requests"]["chat"]["by_model"] == {SGLANG_MODEL: 3}
