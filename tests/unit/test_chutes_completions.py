from __future__ import annotations

from typing import Any

from chutes_mcp.chutes.chat.chunks import ChatAccumulator, ChunkDecoder, result_from_completion
from chutes_mcp.chutes.types import (
    Done,
    ReasoningDelta,
    ResponseMeta,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageEvent,
)


def chunk(delta: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    choices = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": extra.pop("finish", None)}]
    )
    return {"id": "x", "object": "chat.completion.chunk", "model": "m/TEE", "choices": choices, **extra}


def test_decoder_handles_sglang_nulls_reasoning_keys_and_usage_only_chunks() -> None:
    decoder = ChunkDecoder("m")
    events = []
    stream = [
        chunk(
            {"role": "assistant", "content": "", "reasoning_content": None, "tool_calls": None},
            usage=None,
            chutes_verification="ab",
        ),
        chunk({"reasoning_content": "think "}),
        chunk({"reasoning": "more"}),
        chunk({"content": "Hel"}, usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}),
        chunk({"content": "lo"}, matched_stop=None),
        chunk({}, finish="stop"),
        chunk(
            None,
            usage={
                "prompt_tokens": 3,
                "completion_tokens": 2,
                "total_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 2},
            },
        ),
    ]
    for item in stream:
        events.extend(decoder.feed(item))
    assert events == [ReasoningDelta("think "), ReasoningDelta("more"), TextDelta("Hel"), TextDelta("lo")]
    final = decoder.finish(ResponseMeta(invocation_id="inv"))
    usage = Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5, cached_tokens=2)
    assert final == [UsageEvent(usage), Done("stop", "m/TEE", ResponseMeta(invocation_id="inv"))]


def test_accumulator_builds_tool_calls_from_deltas() -> None:
    acc = ChatAccumulator()
    for event in [
        ToolCallDelta(0, "call_1", "get_weather", ""),
        ToolCallDelta(0, None, None, '{"location": '),
        ToolCallDelta(0, None, None, '"Paris"}'),
        ToolCallDelta(0, "call_2", "get_time", "{}"),  # a second call reusing index 0
        TextDelta("ok"),
        Done("tool_calls", "m", ResponseMeta()),
    ]:
        acc.add(event)
    result = acc.result()
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("call_1", "get_weather", '{"location": "Paris"}'),
        ("call_2", "get_time", "{}"),
    ]
    assert result.text == "ok"
    assert result.finish_reason == "tool_calls"


def test_non_streamed_completion() -> None:
    body = {
        "model": "zai-org/GLM-4.7-TEE",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "reasoning": "hmm",
                    "tool_calls": [
                        {
                            "id": "a",
                            "index": 0,
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        },
                        {
                            "id": "b",
                            "index": 0,
                            "type": "function",
                            "function": {"name": "g", "arguments": "{}"},
                        },
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 40,
            "total_tokens": 52,
            "prompt_tokens_details": None,
        },
        "chutes_verification": "x",
    }
    result = result_from_completion(body, requested_model="zai-org/GLM-4.7", meta=ResponseMeta())
    assert result.text == ""
    assert result.reasoning == "hmm"
    assert [c.index for c in result.tool_calls] == [0, 1]
    assert result.model == "zai-org/GLM-4.7-TEE"
    assert result.usage == Usage(prompt_tokens=12, completion_tokens=40, total_tokens=52)
