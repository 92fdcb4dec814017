"""The `chat` tool end to end: `chutes-mcp serve` over stdio, both protocol eras, against the simulator."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp_support import ERAS, INSTRUCT_TEE_MODEL, error_of, mcp_session, text_of
from sim_process import SimProcess

pytestmark = pytest.mark.anyio

PLAIN = "unsloth/Mistral-Nemo-Instruct-2407"  # no TEE, no reasoning
TEE_MODEL = "deepseek-ai/DeepSeek-V3-0324-TEE"  # TEE, no reasoning
THINKER = "zai-org/GLM-4.7-TEE"  # thinks by default
TINY_PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
WEATHER_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "Local time in a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
]
CITY_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "city",
        "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def queue_faults(sim: SimProcess, *faults: str, model: str | None = None) -> None:
    body = {"faults": list(faults), "route": "chat", "model": model}
    httpx2.post(f"{sim.url}/_sim/scenario", json=body).raise_for_status()


def sim_config(sim: SimProcess, **knobs: float) -> None:
    httpx2.patch(f"{sim.url}/_sim/config", json=knobs).raise_for_status()


def chat_requests(sim: SimProcess) -> int:
    total: int = sim.stats()["requests"].get("chat", {}).get("total", 0)
    return total


async def call_chat(sim: SimProcess, tmp_path: Path, mode: str, args: dict[str, Any], **env: str) -> Any:
    async with mcp_session(sim, tmp_path, mode, **env) as client:  # type: ignore[arg-type]
        return await client.call_tool("chat", args)


def structured(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    content: dict[str, Any] = result.structured_content
    return content


# -- answers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_plain_prompt(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    out = structured(await call_chat(sim, tmp_path, mode, {"prompt": "hello"}))
    assert out["text"]
    assert out["usage"]["completion_tokens"] > 0
    assert out["usage"]["prompt_tokens"] > 0
    assert out["cost_usd"] > 0
    assert out["model_requested"] == "chutes-default"
    assert out["model_used"] == "zai-org/GLM-4.7-TEE"
    assert out["invocation_id"]
    assert out["quota"]["total"] == 2000
    assert out["attempts"] == [
        {
            "model": "zai-org/GLM-4.7-TEE",
            "outcome": "ok",
            "status": 200,
            "ms": out["attempts"][0]["ms"],
            "retries": 0,
            "usage": out["usage"],  # one attempt: its usage and cost are the call's
            "cost_usd": out["cost_usd"],
        }
    ]
    assert out["reasoning"] is None
    assert out["ttft_ms"] is not None
    assert out["latency_ms"] >= out["ttft_ms"]


@pytest.mark.parametrize("mode", ERAS)
async def test_the_text_is_the_answer_plus_one_line(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    result = await call_chat(sim, tmp_path, mode, {"prompt": "hello", "model": PLAIN})
    out = structured(result)
    answer, footer = text_of(result).rsplit("\n\n", 1)
    assert answer == out["text"]
    assert footer.startswith(f"— {PLAIN} · ")
    assert "$" in footer


@pytest.mark.parametrize("mode", ERAS)
async def test_messages_with_an_image(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": TINY_PNG}},
            ],
        }
    ]
    out = structured(await call_chat(sim, tmp_path, mode, {"messages": messages, "model": "chutes-vision"}))
    assert out["text"]
    assert out["model_used"] == "chutesai/Mistral-Small-3.2-24B-Instruct-2506"


@pytest.mark.parametrize("mode", ERAS)
async def test_system_prompt_is_sent(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        bare = structured(await client.call_tool("chat", {"prompt": "hello", "model": PLAIN}))
        with_system = structured(
            await client.call_tool(
                "chat", {"prompt": "hello", "model": PLAIN, "system": "Answer in one short line."}
            )
        )
    assert with_system["usage"]["prompt_tokens"] > bare["usage"]["prompt_tokens"]


@pytest.mark.parametrize("mode", ERAS)
async def test_json_schema_answer(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        schema = structured(
            await client.call_tool(
                "chat", {"prompt": "A city?", "model": TEE_MODEL, "response_format": CITY_SCHEMA}
            )
        )
        anything = structured(
            await client.call_tool(
                "chat", {"prompt": "A city?", "model": TEE_MODEL, "response_format": {"type": "json_object"}}
            )
        )
    assert isinstance(json.loads(schema["text"])["city"], str)
    assert isinstance(json.loads(anything["text"]), dict)


@pytest.mark.parametrize("mode", ERAS)
async def test_tool_calls_come_back_to_run(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    args = {"prompt": "Use get_time for Paris.", "model": TEE_MODEL, "tools": WEATHER_TOOLS}
    result = await call_chat(sim, tmp_path, mode, args)
    out = structured(result)
    assert out["finish_reason"] == "tool_calls"
    (call,) = out["tool_calls"]
    assert call["name"] == "get_time"
    assert call["id"]
    assert isinstance(json.loads(call["arguments"])["city"], str)
    assert "Tool call get_time(" in text_of(result)


@pytest.mark.parametrize("mode", ERAS)
async def test_reasoning_only_when_asked(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        shown = structured(
            await client.call_tool("chat", {"prompt": "Why?", "model": THINKER, "include_reasoning": True})
        )
        hidden = structured(await client.call_tool("chat", {"prompt": "Why?", "model": THINKER}))
    assert shown["reasoning"]
    assert shown["reasoning_truncated_chars"] == 0
    assert hidden["reasoning"] is None
    assert shown["text"] == hidden["text"]


@pytest.mark.parametrize("mode", ERAS)
async def test_empty_answer_retried_without_thinking(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    args = {"prompt": "Why?", "model": THINKER, "max_tokens": 8, "retry_without_thinking": True}
    out = structured(await call_chat(sim, tmp_path, mode, args))
    assert out["text"]
    assert [attempt["outcome"] for attempt in out["attempts"]] == ["empty_answer", "ok"]
    assert any("thinking off" in note for note in out["notes"])
    assert out["cost_usd"] > 0


# Each family's switch, asked the opposite of the model's default so the answer shows it was read.
FAMILY_SWITCHES = [
    ("Qwen/Qwen3-32B", True, "enable_thinking"),
    ("zai-org/GLM-4.7-TEE", False, "thinking"),
    ("moonshotai/Kimi-K2.5-TEE", False, "thinking"),
    ("deepseek-ai/DeepSeek-V3.2-TEE", True, "thinking"),
]
ALWAYS_REASONS = "deepseek-ai/DeepSeek-R1-TEE"


@pytest.mark.parametrize("mode", ERAS)
async def test_each_family_gets_the_switch_it_reads(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        outs = {
            model: structured(
                await client.call_tool(
                    "chat", {"prompt": "Why?", "model": model, "thinking": on, "include_reasoning": True}
                )
            )
            for model, on, _ in FAMILY_SWITCHES
        }
    sent = sim.stats()["reasoning_controls"]
    for model, on, key in FAMILY_SWITCHES:
        assert sent[model] == {f"chat_template_kwargs.{key}={str(on).lower()}": 1}
        assert bool(outs[model]["reasoning"]) is on
        assert outs[model]["notes"] == []


@pytest.mark.parametrize("mode", ERAS)
async def test_thinking_off_on_a_model_that_always_reasons_says_so(
    sim: SimProcess, tmp_path: Path, mode: str
) -> None:
    args = {"prompt": "Why?", "model": ALWAYS_REASONS, "thinking": False, "include_reasoning": True}
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        r1 = structured(await client.call_tool("chat", args))
        oss = structured(await client.call_tool("chat", {**args, "model": "openai/gpt-oss-120b-TEE"}))
    assert r1["reasoning"]
    assert r1["text"]
    assert r1["notes"] == [f"{ALWAYS_REASONS} always reasons: thinking=false cannot turn its thinking off"]
    assert oss["reasoning"]
    assert "always reasons" in oss["notes"][0]
    assert "lowest effort, low" in oss["notes"][0]
    stats = sim.stats()
    assert stats["requests"]["chat"]["by_model"][ALWAYS_REASONS] == 1
    # No switch R1 has no use for; gpt-oss gets the effort level it reads instead.
    assert stats["reasoning_controls"] == {"openai/gpt-oss-120b-TEE": {'reasoning_effort="low"': 1}}


@pytest.mark.parametrize("mode", ERAS)
async def test_thinking_on_a_model_without_reasoning_says_so(
    sim: SimProcess, tmp_path: Path, mode: str
) -> None:
    out = structured(await call_chat(sim, tmp_path, mode, {"prompt": "hi", "model": PLAIN, "thinking": True}))
    assert out["text"]
    assert out["reasoning"] is None
    assert out["notes"] == [
        f"{PLAIN} does not reason (the catalog lists no `reasoning` for it): thinking=true has no effect"
    ]
    assert sim.stats()["reasoning_controls"] == {}


@pytest.mark.parametrize("mode", ERAS)
async def test_usage_cost_and_quota_count_every_attempt(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    """Both attempts were billed: usage and cost_usd total them (each attempt has its own), and quota is
    the count after the call, two requests on from before it."""
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        before = structured(await client.call_tool("account", {}))["daily_used"]
        args = {"prompt": "Why?", "model": THINKER, "max_tokens": 8, "retry_without_thinking": True}
        out = structured(await client.call_tool("chat", args))
        after = structured(await client.call_tool("account", {}))["daily_used"]
    first, second = out["attempts"]
    for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
        assert out["usage"][field] == first["usage"][field] + second["usage"][field]
    assert first["cost_usd"] > 0
    assert out["cost_usd"] == pytest.approx(first["cost_usd"] + second["cost_usd"])
    assert out["quota"]["used"] == before + 2 == after
    assert out["quota"]["remaining"] == out["quota"]["total"] - out["quota"]["used"]


@pytest.mark.parametrize("mode", ERAS)
async def test_a_cost_limit_without_max_tokens_caps_it_and_says_so(
    sim: SimProcess, tmp_path: Path, mode: str
) -> None:
    """The README's example: $0.05 a call on GLM-4.7, which may write 65,535 tokens ($0.11)."""
    out = structured(
        await call_chat(sim, tmp_path, mode, {"prompt": "hello", "model": THINKER, "max_cost_usd": 0.05})
    )
    assert out["text"]
    note = next(note for note in out["notes"] if note.startswith("max_tokens capped at "))
    assert "$0.05" in note
    assert out["cost_usd"] <= 0.05


# -- TEE -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_tee_only_sends_the_header(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    """The server's catalog says TEE; the simulator is then told the chute is not, so only a request that
    carries `X-TEE-Only: true` is refused (426)."""
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        structured(await client.call_tool("chat", {"prompt": "hello", "model": TEE_MODEL, "tee_only": True}))
        catalog = httpx2.get(f"{sim.llm_base}/models").json()
        for entry in catalog["data"]:
            if entry["id"] == TEE_MODEL:
                entry["confidential_compute"] = False
        httpx2.put(f"{sim.url}/_sim/catalog", json=catalog).raise_for_status()
        plain = await client.call_tool("chat", {"prompt": "hello", "model": TEE_MODEL})
        refused = await client.call_tool("chat", {"prompt": "hello", "model": TEE_MODEL, "tee_only": True})
    structured(plain)
    payload = error_of(refused)
    assert (payload["code"], payload["status"]) == ("tee_required", 426)


@pytest.mark.parametrize("mode", ERAS)
async def test_tee_only_server_mode_refuses_before_calling(
    sim: SimProcess, tmp_path: Path, mode: str
) -> None:
    result = await call_chat(sim, tmp_path, mode, {"prompt": "hello", "model": PLAIN}, CHUTES_TEE_ONLY="true")
    assert error_of(result)["code"] == "tee_required"
    assert chat_requests(sim) == 0


# -- failover --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_fallback_list(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    queue_faults(sim, "503", model=TEE_MODEL)
    out = structured(
        await call_chat(
            sim, tmp_path, mode, {"prompt": "hello", "model": TEE_MODEL, "fallbacks": [INSTRUCT_TEE_MODEL]}
        )
    )
    assert [(a["model"], a["outcome"], a["status"]) for a in out["attempts"]] == [
        (TEE_MODEL, "model_unavailable", 503),
        (INSTRUCT_TEE_MODEL, "ok", 200),
    ]
    assert out["model_used"] == INSTRUCT_TEE_MODEL
    assert out["model_requested"] == TEE_MODEL


@pytest.mark.parametrize("mode", ERAS)
async def test_auto_fallbacks_keep_the_constraints(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    queue_faults(sim, "503", model=TEE_MODEL)
    args = {"prompt": "hello", "model": TEE_MODEL, "fallbacks": "auto", "tee_only": True}
    out = structured(await call_chat(sim, tmp_path, mode, args))
    first, second = out["attempts"]
    assert (first["model"], first["outcome"]) == (TEE_MODEL, "model_unavailable")
    assert second["outcome"] == "ok"
    assert second["model"] != TEE_MODEL
    assert out["model_used"].endswith("-TEE")


@pytest.mark.parametrize("mode", ERAS)
async def test_cost_limit_refuses_before_any_call(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    result = await call_chat(
        sim, tmp_path, mode, {"prompt": "hello", "model": THINKER, "max_cost_usd": 0.0001}
    )
    payload = error_of(result)
    assert payload["code"] == "cost_limit"
    assert "worst case" in payload["message"]
    assert chat_requests(sim) == 0


@pytest.mark.parametrize("mode", ERAS)
async def test_arguments_are_strictly_typed(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        as_text = error_of(await client.call_tool("chat", {"prompt": "hi", "max_tokens": "10"}))
        as_flag = error_of(await client.call_tool("chat", {"prompt": "hi", "include_reasoning": "true"}))
    assert (as_text["code"], as_flag["code"]) == ("invalid_arguments", "invalid_arguments")
    assert as_text["message"].startswith("max_tokens: ")
    assert as_flag["message"].startswith("include_reasoning: ")
    assert chat_requests(sim) == 0


@pytest.mark.parametrize("mode", ERAS)
async def test_text_that_is_json_stays_text_and_nulls_mean_unset(
    sim: SimProcess, tmp_path: Path, mode: str
) -> None:
    # A prompt may be a JSON document; it is sent as the text it is, not decoded into an object. A
    # client in OpenAI's strict mode sends null for every optional argument it does not set.
    document = '{"city": "Paris", "days": [1, 2]}'
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        as_json = structured(
            await client.call_tool("chat", {"prompt": document, "model": PLAIN, "max_tokens": 8})
        )
        as_nulls = structured(
            await client.call_tool(
                "chat",
                {"prompt": "hello", "model": PLAIN, "system": None, "max_tokens": None, "stop": None},
            )
        )
    assert as_json["usage"]["prompt_tokens"] > 0
    assert as_nulls["text"]


# -- every error code --------------------------------------------------------------------------------------

HELLO = {"prompt": "hello", "model": TEE_MODEL}
DEAD_BASE = "http://127.0.0.1:9/v1"

# (code, arguments, faults queued for the chat route, server environment)
ERROR_CASES: list[tuple[str, dict[str, Any], tuple[str, ...], dict[str, str]]] = [
    ("invalid_arguments", {"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, (), {}),
    ("invalid_arguments", {"prompt": "hi", "temperature": 3}, (), {}),
    ("invalid_arguments", {"messages": [{"role": "tool", "content": "42"}]}, (), {}),
    ("model_not_found", {"prompt": "hi", "model": "no-such-org/no-such-model"}, (), {}),
    ("model_not_allowed", {"prompt": "hi", "model": PLAIN}, (), {"CHUTES_ALLOWED_MODELS": TEE_MODEL}),
    ("tee_required", {"prompt": "hi", "model": PLAIN, "tee_only": True}, (), {}),
    ("tee_required", HELLO, ("426",), {}),
    ("cost_limit", {**HELLO, "max_cost_usd": 1e-9}, (), {}),
    ("empty_answer", {"prompt": "Why?", "model": THINKER, "max_tokens": 8}, (), {}),
    ("rate_limited", HELLO, ("429", "429"), {}),
    ("model_unavailable", HELLO, ("503", "503"), {}),
    ("quota_exhausted", HELLO, ("402",), {}),
    ("auth_invalid", HELLO, (), {"CHUTES_API_KEY": "invalid-key"}),
    ("auth_scope", HELLO, ("403",), {}),
    (
        "bad_request",
        {
            **HELLO,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"schema": {"type": "string", "pattern": "^a"}},
            },
        },
        (),
        {},
    ),
    (
        "bad_request",
        {
            "messages": [
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": TINY_PNG}}]}
            ],
            "model": PLAIN,
        },
        (),
        {},
    ),
    ("upstream_error", HELLO, ("500", "500"), {}),
    ("upstream_error", HELLO, ("midstream-error",), {}),
    ("timeout", {**HELLO, "timeout_s": 0.5}, ("slow-first-byte:3000",), {}),
    ("network", HELLO, (), {"CHUTES_API_BASE": DEAD_BASE}),
]


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("code", "args", "faults", "env"),
    ERROR_CASES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(ERROR_CASES)],
)
async def test_error_codes(
    sim: SimProcess,
    tmp_path: Path,
    mode: str,
    code: str,
    args: dict[str, Any],
    faults: tuple[str, ...],
    env: dict[str, str],
) -> None:
    if faults:
        queue_faults(sim, *faults)
    payload = error_of(await call_chat(sim, tmp_path, mode, args, **env))
    assert payload["code"] == code, payload
    assert payload["hint"]


@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize(
    ("code", "args", "fault"),
    [
        ("timeout", {**HELLO, "timeout_s": 0.5, "max_tokens": 50}, "slow-tokens:100"),
        ("upstream_error", HELLO, "midstream-error"),
    ],
)
async def test_an_answer_cut_off_mid_stream_keeps_what_arrived(
    sim: SimProcess, tmp_path: Path, mode: str, code: str, args: dict[str, Any], fault: str
) -> None:
    queue_faults(sim, fault)
    payload = error_of(await call_chat(sim, tmp_path, mode, args))
    assert payload["code"] == code
    assert payload["partial_text"].strip()


async def test_a_failure_before_the_answer_has_no_partial_text(sim: SimProcess, tmp_path: Path) -> None:
    queue_faults(sim, "500", "500")
    payload = error_of(await call_chat(sim, tmp_path, "auto", HELLO))
    assert payload["code"] == "upstream_error"
    assert "partial_text" not in payload


# -- progress and cancellation -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ERAS)
async def test_a_two_second_stream_reports_progress(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    # Every answer has at least 20 words (one token each): 20 tokens at 10/s is a 2 s stream.
    sim_config(sim, tokens_per_s=10)
    seen: list[tuple[float, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, message))

    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool(
            "chat", {"prompt": "hello", "model": PLAIN, "max_tokens": 20}, progress_callback=on_progress
        )
    structured(result)
    assert len(seen) >= 3, seen
    assert [progress for progress, _ in seen] == sorted({progress for progress, _ in seen})
    assert seen[0][1] is not None
    assert seen[0][1].startswith("1 tokens")


@pytest.mark.parametrize("mode", ERAS)
async def test_cancelling_closes_the_upstream_stream(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    sim_config(sim, tokens_per_s=5)
    first_progress = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        first_progress.set()

    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        call = functools.partial(
            client.call_tool, "chat", {"prompt": "hello", "model": PLAIN}, progress_callback=on_progress
        )
        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                await first_progress.wait()
                assert sim.stats()["streams"]["open"] == 1
                group.cancel_scope.cancel()
        cancelled_at = time.monotonic()
        while sim.stats()["streams"]["closed_early"] < 1:
            assert time.monotonic() - cancelled_at < 1.0, "the upstream stream stayed open"
            await anyio.sleep(0.01)
    assert sim.stats()["streams"]["completed"] == 0


# -- the CLI -----------------------------------------------------------------------------------------------


def test_call_chat_with_the_embedded_simulator(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chutes_mcp", "call", "chat", '{"prompt":"hello"}', "--sim"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["text"]
    assert out["usage"]["total_tokens"] > 0
    assert out["cost_usd"] > 0
