"""Non-streamed chat completions on the simulated llm host: pipeline, shapes and generation rules."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import jsonschema
import pytest
from chat_support import (
    AUTH,
    FIXTURES,
    HELLO,
    PLAIN_MODEL,
    SGLANG_MODEL,
    VLLM_MODEL,
    post_chat,
    sdk,
    session_headers,
)
from sim_process import SimProcess

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "minLength": 2},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7},
            },
            "required": ["city"],
        },
    },
}
TIME_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}},
    },
}
PERSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 20},
        "age": {"type": "integer", "minimum": 18, "maximum": 99},
        "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "member": {"type": "boolean"},
        "role": {"type": "string", "enum": ["admin", "user"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
        "address": {"$ref": "#/$defs/address"},
        "nickname": {"anyOf": [{"type": "null"}, {"type": "string"}]},
    },
    "required": ["name", "age", "score", "member", "role", "tags", "address"],
    "additionalProperties": False,
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
            "required": ["city", "zip"],
        }
    },
}


def _message(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    message: dict[str, Any] = response.json()["choices"][0]["message"]
    return message


def test_sdk_non_streaming_completion(sim: SimProcess) -> None:
    with sdk(sim) as client:
        completion = client.chat.completions.create(model=VLLM_MODEL, messages=HELLO)  # type: ignore[arg-type]
    assert completion.model == VLLM_MODEL
    assert completion.object == "chat.completion"
    assert re.fullmatch(r"chatcmpl-[0-9a-f]{32}", completion.id)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content
    assert completion.usage is not None
    words = choice.message.content.split()
    reasoning = (choice.message.model_extra or {}).get("reasoning")
    assert completion.usage.completion_tokens == len(words) + len((reasoning or "").split())
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 0


def test_vllm_body_shape(sim: SimProcess) -> None:
    body = post_chat(sim, {"model": "openai/gpt-oss-120b-TEE", "messages": HELLO}).json()
    assert list(body) == [
        "id",
        "object",
        "created",
        "model",
        "choices",
        "usage",
        "metadata",
        "chutes_verification",
    ]
    choice = body["choices"][0]
    assert choice["logprobs"] is None
    assert choice["stop_reason"] is None
    assert set(choice["message"]) == {"role", "content", "reasoning", "tool_calls"}
    assert choice["message"]["tool_calls"] == []
    assert body["metadata"] == {"weight_version": "default"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["chutes_verification"])


def test_sglang_body_shape(sim: SimProcess) -> None:
    body = post_chat(sim, {"model": SGLANG_MODEL, "messages": HELLO}).json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    choice = body["choices"][0]
    assert choice["matched_stop"] is None
    assert choice["message"]["tool_calls"] is None
    assert set(choice["message"]) == {"role", "content", "reasoning_content", "tool_calls"}


def test_invocation_headers_count_the_quota_before_each_call(sim: SimProcess) -> None:
    with sdk(sim) as client:
        seen = []
        for _ in range(2):
            raw = client.chat.completions.with_raw_response.create(model=PLAIN_MODEL, messages=HELLO)  # type: ignore[arg-type]
            seen.append(raw.headers)
        assert [h["x-chutes-quota-used"] for h in seen] == ["0", "1"]
        assert [h["x-chutes-quota-remaining"] for h in seen] == ["2000", "1999"]
        assert {h["x-chutes-quota-total"] for h in seen} == {"2000"}
        assert {h["x-chutes-rl-user"] for h in seen} == {"60"}
        ids = {h["x-chutes-invocationid"] for h in seen}
        assert len(ids) == 2
        assert all(re.fullmatch(r"[0-9a-f-]{36}", i) for i in ids)


def test_missing_auth_gets_the_captured_nginx_page(sim: SimProcess) -> None:
    response = httpx2.post(f"{sim.llm_base}/chat/completions", json={"model": PLAIN_MODEL, "messages": HELLO})
    assert response.status_code == 429
    assert response.content == (FIXTURES / "chat_completions_no_auth_429_2026-02-18.html").read_bytes()


def test_invalid_token_gets_the_captured_401(sim: SimProcess) -> None:
    response = post_chat(
        sim, {"model": PLAIN_MODEL, "messages": HELLO}, {"Authorization": "Bearer invalid-token"}
    )
    assert response.status_code == 401
    assert response.content == (FIXTURES / "chat_completions_invalid_token_2026-02-18.json").read_bytes()


def test_the_token_is_the_last_word_of_authorization(sim: SimProcess) -> None:
    key = AUTH["Authorization"].split()[-1]
    for value in (f"Basic {key}", key):
        assert (
            post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}, {"Authorization": value}).status_code
            == 200
        )


def test_unknown_model_is_404(sim: SimProcess) -> None:
    response = post_chat(sim, {"model": "acme/Nope-1B", "messages": HELLO})
    assert response.status_code == 404
    assert response.json() == {"detail": "model not found: acme/Nope-1B"}


@pytest.mark.parametrize(
    ("asked", "served"),
    [
        ("zai-org/GLM-4.7", "zai-org/GLM-4.7-TEE"),
        ("deepseek-ai/DeepSeek-V3.2", "deepseek-ai/DeepSeek-V3.2-TEE"),
        ("openai/gpt-oss-120b", "openai/gpt-oss-120b-TEE"),
        ("moonshotai/Kimi-K2-Thinking", "moonshotai/Kimi-K2-Thinking-TEE"),
        ("THUDM/GLM-4.6", "zai-org/GLM-4.6-TEE"),
        ("mistralai/Mistral-Small-3.1-24B-Instruct-2503", "chutesai/Mistral-Small-3.1-24B-Instruct-2503"),
        ("0d7184a2-32a3-53e0-9607-058c37edaab5", "Qwen/Qwen3-32B"),
    ],
)
def test_rewrites_and_tee_reroutes_answer_with_the_resolved_model(
    sim: SimProcess, asked: str, served: str
) -> None:
    assert post_chat(sim, {"model": asked, "messages": HELLO}).json()["model"] == served


def test_comma_lists_and_ranking_suffixes_resolve(sim: SimProcess) -> None:
    assert (
        post_chat(sim, {"model": f"acme/Nope,{PLAIN_MODEL}", "messages": HELLO}).json()["model"]
        == PLAIN_MODEL
    )
    assert (
        post_chat(sim, {"model": f"{PLAIN_MODEL}:latency", "messages": HELLO}).json()["model"] == PLAIN_MODEL
    )
    both = f"{PLAIN_MODEL},{SGLANG_MODEL}:throughput"
    assert post_chat(sim, {"model": both, "messages": HELLO}).json()["model"] == PLAIN_MODEL


def test_failover_list_moves_past_a_scripted_429(sim: SimProcess) -> None:
    body = {"model": f"{PLAIN_MODEL},{SGLANG_MODEL}", "messages": HELLO}
    response = post_chat(sim, body, session_headers("429"))
    assert response.status_code == 200
    assert response.json()["model"] == SGLANG_MODEL
    alone = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}, session_headers("429"))
    assert alone.status_code == 429


def _reasoning(message: dict[str, Any]) -> str | None:
    value = message.get("reasoning", message.get("reasoning_content"))
    return value if value is None else str(value)


@pytest.mark.parametrize(
    ("body", "headers", "thinks"),
    [
        ({"model": SGLANG_MODEL}, {}, False),
        ({"model": f"{SGLANG_MODEL}:THINKING"}, {}, True),
        ({"model": SGLANG_MODEL}, {"X-Enable-Thinking": "true"}, True),
        ({"model": SGLANG_MODEL, "chat_template_kwargs": {"enable_thinking": True}}, {}, True),
        ({"model": SGLANG_MODEL, "chat_template_kwargs": {"thinking": True}}, {}, True),
        ({"model": VLLM_MODEL}, {}, True),
        ({"model": VLLM_MODEL, "chat_template_kwargs": {"enable_thinking": False}}, {}, False),
        ({"model": VLLM_MODEL, "chat_template_kwargs": {"thinking": False}}, {}, False),
        ({"model": "deepseek-ai/DeepSeek-R1-TEE", "chat_template_kwargs": {"thinking": False}}, {}, True),
        ({"model": "openai/gpt-oss-120b-TEE", "reasoning_effort": "low"}, {}, True),
        ({"model": f"{PLAIN_MODEL}:THINKING"}, {}, False),
    ],
)
def test_thinking_switches_and_defaults(
    sim: SimProcess, body: dict[str, Any], headers: dict[str, str], thinks: bool
) -> None:
    message = _message(post_chat(sim, {**body, "messages": HELLO}, {**AUTH, **headers}))
    assert (_reasoning(message) is not None) is thinks
    assert message["content"]


def test_stats_show_the_reasoning_controls_as_sent(sim: SimProcess) -> None:
    controls = {"enable_thinking": False, "clear_thinking": False}
    post_chat(sim, {"model": SGLANG_MODEL, "messages": HELLO, "chat_template_kwargs": controls})
    effort = {"chat_template_kwargs": {"thinking": True}, "reasoning_effort": "high"}
    post_chat(sim, {"model": "zai-org/GLM-4.7", "messages": HELLO, **effort})
    post_chat(sim, {"model": f"{SGLANG_MODEL}:THINKING", "messages": HELLO})
    post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO})
    # Under the model that answered, before chutes-api mirrors one switch to the other or adds its own.
    assert sim.stats()["reasoning_controls"] == {
        SGLANG_MODEL: {"chat_template_kwargs.enable_thinking=false": 1},
        VLLM_MODEL: {"chat_template_kwargs.thinking=true": 1, 'reasoning_effort="high"': 1},
    }


def test_reasoning_key_follows_the_engine(sim: SimProcess) -> None:
    sglang = _message(post_chat(sim, {"model": f"{SGLANG_MODEL}:THINKING", "messages": HELLO}))
    vllm = _message(post_chat(sim, {"model": VLLM_MODEL, "messages": HELLO}))
    assert sglang["reasoning_content"]
    assert "reasoning" not in sglang
    assert vllm["reasoning"]
    assert "reasoning_content" not in vllm


def test_logprobs_are_dropped(sim: SimProcess) -> None:
    response = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO, "logprobs": True, "top_logprobs": 5})
    assert response.json()["choices"][0]["logprobs"] is None


def test_max_tokens_cuts_with_length(sim: SimProcess) -> None:
    for key in ("max_tokens", "max_completion_tokens"):
        body = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO, key: 5}).json()
        assert body["choices"][0]["finish_reason"] == "length"
        assert body["usage"]["completion_tokens"] == 5
        assert len(body["choices"][0]["message"]["content"].split()) == 5


def test_a_reasoning_model_with_a_small_budget_answers_nothing(sim: SimProcess) -> None:
    body = post_chat(sim, {"model": VLLM_MODEL, "messages": HELLO, "max_tokens": 4}).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    assert choice["message"]["content"] is None
    assert len(choice["message"]["reasoning"].split()) == 4


def test_generation_is_deterministic_and_seeded(sim: SimProcess) -> None:
    def content(**extra: Any) -> str:
        return str(_message(post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO, **extra}))["content"])

    assert content() == content() == content(temperature=1.5)
    assert content(seed=7) == content(seed=7)
    assert content(seed=7) != content(seed=8)
    assert content() != str(
        _message(post_chat(sim, {"model": PLAIN_MODEL, "messages": [{"role": "user", "content": "Other."}]}))[
            "content"
        ]
    )


@pytest.mark.parametrize(
    ("model", "key"), [("Qwen/Qwen2.5-72B-Instruct", "stop_reason"), (PLAIN_MODEL, "matched_stop")]
)
def test_stop_cuts_before_the_stop_string(sim: SimProcess, model: str, key: str) -> None:
    full = str(_message(post_chat(sim, {"model": model, "messages": HELLO}))["content"])
    stop = full.split()[4]
    choice = post_chat(sim, {"model": model, "messages": HELLO, "stop": ["zzz", stop]}).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice[key] == stop
    assert choice["message"]["content"] == full[: full.index(stop)]


def test_json_object_mode(sim: SimProcess) -> None:
    with sdk(sim) as client:
        completion = client.chat.completions.create(
            model=PLAIN_MODEL,
            messages=HELLO,  # type: ignore[arg-type]
            response_format={"type": "json_object"},
        )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


@pytest.mark.parametrize("model", [PLAIN_MODEL, VLLM_MODEL])
def test_sdk_json_schema_gives_a_valid_instance(sim: SimProcess, model: str) -> None:
    with sdk(sim) as client:
        for attempt in range(5):
            completion = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": f"Person {attempt}"}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "person", "schema": PERSON_SCHEMA},
                },
            )
            jsonschema.validate(json.loads(completion.choices[0].message.content or ""), PERSON_SCHEMA)


def test_structured_outputs_and_guided_json_are_honoured(sim: SimProcess) -> None:
    for extra in ({"structured_outputs": {"json": PERSON_SCHEMA}}, {"guided_json": PERSON_SCHEMA}):
        content = _message(post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO, **extra}))["content"]
        jsonschema.validate(json.loads(content), PERSON_SCHEMA)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "x",
                        "schema": {
                            "type": "object",
                            "properties": {"a": {"type": "string", "pattern": "^a+$"}},
                        },
                    },
                }
            },
            "Regex-based structured output (JSON schema 'pattern' fields) is temporarily disabled.",
        ),
        (
            {"structured_outputs": {"json": {"type": "string", "pattern": "x"}}},
            "Regex-based structured output (JSON schema 'pattern' fields) is temporarily disabled.",
        ),
        ({"guided_regex": "a+"}, "Regex-based structured output is temporarily disabled."),
        ({"structured_outputs": {"regex": "a+"}}, "Regex-based structured output is temporarily disabled."),
        (
            {"messages": [{"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]}]},
            "File content not currently supported",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "hi"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{nope"}}
                        ],
                    },
                ]
            },
            "Invalid tool_calls.function.arguments value, expected JSON",
        ),
    ],
)
def test_requests_refused_with_400(sim: SimProcess, extra: dict[str, Any], message: str) -> None:
    response = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO, **extra})
    assert response.status_code == 400
    assert response.json() == {"detail": message}


def test_a_body_that_is_not_json_is_400(sim: SimProcess) -> None:
    response = httpx2.post(f"{sim.llm_base}/chat/completions", content=b"{nope", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Invalid request JSON: ")


def _tool_calls(response: httpx2.Response) -> list[dict[str, Any]]:
    body = response.json()
    assert body["choices"][0]["finish_reason"] == "tool_calls", body
    calls: list[dict[str, Any]] = body["choices"][0]["message"]["tool_calls"]
    return calls


def test_sdk_tool_call_on_a_user_turn(sim: SimProcess) -> None:
    with sdk(sim) as client:
        completion = client.chat.completions.create(
            model=VLLM_MODEL,
            messages=[{"role": "user", "content": "What is the weather in Paris?"}],
            tools=[WEATHER_TOOL],  # type: ignore[list-item]
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert re.fullmatch(r"chatcmpl-tool-[0-9a-f]{32}", call.id)
    jsonschema.validate(json.loads(call.function.arguments), WEATHER_TOOL["function"]["parameters"])


def test_tools_named_in_the_message_are_called(sim: SimProcess) -> None:
    messages = [{"role": "user", "content": "Call get_time and get_weather please."}]
    calls = _tool_calls(
        post_chat(sim, {"model": SGLANG_MODEL, "messages": messages, "tools": [WEATHER_TOOL, TIME_TOOL]})
    )
    assert [c["function"]["name"] for c in calls] == ["get_weather", "get_time"]
    assert all(re.fullmatch(r"call_[0-9a-f]{24}", c["id"]) for c in calls)
    assert [c["index"] for c in calls] == [0, 1]
    single = {
        "model": SGLANG_MODEL,
        "messages": messages,
        "tools": [WEATHER_TOOL, TIME_TOOL],
        "parallel_tool_calls": False,
    }
    assert len(_tool_calls(post_chat(sim, single))) == 1
    other = [{"role": "user", "content": "Anything."}]
    assert [
        c["function"]["name"]
        for c in _tool_calls(
            post_chat(sim, {"model": SGLANG_MODEL, "messages": other, "tools": [TIME_TOOL, WEATHER_TOOL]})
        )
    ] == ["get_time"]


def test_tool_choice_none_named_and_after_a_tool_result(sim: SimProcess) -> None:
    ask = [{"role": "user", "content": "What is the weather?"}]
    tools = [WEATHER_TOOL, TIME_TOOL]
    none = _message(
        post_chat(sim, {"model": PLAIN_MODEL, "messages": ask, "tools": tools, "tool_choice": "none"})
    )
    assert none["content"]
    assert none["tool_calls"] is None
    forced = {"type": "function", "function": {"name": "get_time"}}
    named = _tool_calls(
        post_chat(sim, {"model": PLAIN_MODEL, "messages": ask, "tools": tools, "tool_choice": forced})
    )
    assert [c["function"]["name"] for c in named] == ["get_time"]
    history = [
        *ask,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    answer = post_chat(sim, {"model": PLAIN_MODEL, "messages": history, "tools": tools}).json()["choices"][0]
    assert answer["finish_reason"] == "stop"
    assert answer["message"]["content"]


def test_tee_only_refuses_non_tee_chutes(sim: SimProcess) -> None:
    headers = {**AUTH, "X-TEE-Only": "true"}
    refused = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO}, headers)
    assert refused.status_code == 426
    assert refused.json()["detail"].startswith("This chute does not have TEE enabled.")
    assert post_chat(sim, {"model": VLLM_MODEL, "messages": HELLO}, headers).status_code == 200


def test_quota_and_balance(sim: SimProcess) -> None:
    httpx2.patch(f"{sim.url}/_sim/config", json={"daily_quota": 1, "balance_usd": 0})
    first = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO})
    assert first.status_code == 200
    refused = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO})
    assert refused.status_code == 402
    detail = refused.json()["detail"]
    assert detail["message"].startswith("Quota exceeded and account balance is $0.0")
    assert detail["quota_reset_timestamp"].endswith("T00:00:00+00:00")
    httpx2.patch(f"{sim.url}/_sim/config", json={"balance_usd": 5})
    paid = post_chat(sim, {"model": PLAIN_MODEL, "messages": HELLO})
    assert paid.status_code == 200
    assert paid.headers["x-chutes-quota-remaining"] == "0"


def test_the_llm_host_has_no_embeddings(sim: SimProcess) -> None:
    url = f"{sim.llm_base}/embeddings"
    for model, message in [
        ("Qwen/Qwen3-Embedding-8B", "model not found: Qwen/Qwen3-Embedding-8B"),
        (SGLANG_MODEL, "No matching cord found!"),
    ]:
        response = httpx2.post(url, json={"model": model, "input": "hi"}, headers=AUTH)
        assert response.status_code == 404
        assert response.json() == {"detail": message}
    other = httpx2.post(f"{sim.llm_base}/rerank", json={"model": SGLANG_MODEL}, headers=AUTH)
    assert other.status_code == 404
    assert other.json() == {"detail": "No matching cord found!"}


def test_chat_requests_are_counted(sim: SimProcess) -> None:
    post_chat(sim, {"model": "zai-org/GLM-4.7", "messages": HELLO})
    post_chat(sim, {"model": "acme/Nope", "messages": HELLO})
    stats = sim.stats()
    assert stats["requests"]["chat"]["total"] == 2
    assert stats["requests"]["chat"]["by_model"] == {"zai-org/GLM-4.7-TEE": 1}
    assert stats["statuses"] == {"200": 1, "404": 1}


def test_per_chute_hosts_serve_chat_whatever_the_body_model(sim: SimProcess) -> None:
    for url, headers in [
        (f"{sim.url}/chute/chutes-qwen-qwen3-32b/v1/chat/completions", AUTH),
        (f"{sim.url}/v1/chat/completions", {**AUTH, "Host": "chutes-qwen-qwen3-32b.chutes.ai"}),
    ]:
        for body in ({"messages": HELLO}, {"model": "anything", "messages": HELLO}):
            response = httpx2.post(url, json=body, headers=headers)
            assert response.status_code == 200, response.text
            assert response.json()["model"] == SGLANG_MODEL
    embedding_chute = f"{sim.url}/chute/chutes-baai-bge-m3/v1/chat/completions"
    refused = httpx2.post(embedding_chute, json={"messages": HELLO}, headers=AUTH)
    assert refused.status_code == 404
    assert refused.json() == {"detail": "No matching cord found!"}
