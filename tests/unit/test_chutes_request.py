from __future__ import annotations

from typing import Any

import pytest

from chutes_mcp.chutes.chat.request import ChatRequest, build_chat_body
from chutes_mcp.chutes.errors import BadRequestError

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("kwargs", "template_kwargs", "effort"),
    [
        ({}, None, None),
        ({"thinking": True}, {"enable_thinking": True, "thinking": True}, None),
        ({"thinking": False}, {"enable_thinking": False, "thinking": False}, None),
        ({"reasoning_effort": "high"}, {"enable_thinking": True, "thinking": True}, "high"),
        ({"reasoning_effort": "low"}, {"enable_thinking": True, "thinking": True}, "low"),
        ({"reasoning_effort": "none"}, {"enable_thinking": False, "thinking": False}, None),
        ({"reasoning_effort": "minimal"}, {"enable_thinking": False, "thinking": False}, None),
        (
            {"thinking": True, "reasoning_effort": "medium"},
            {"enable_thinking": True, "thinking": True},
            "medium",
        ),
    ],
)
def test_thinking_switches(
    kwargs: dict[str, Any], template_kwargs: dict[str, bool] | None, effort: str | None
) -> None:
    body = build_chat_body(ChatRequest(model="m", messages=MESSAGES, **kwargs), stream=False)
    assert body.get("chat_template_kwargs") == template_kwargs
    assert body.get("reasoning_effort") == effort


@pytest.mark.parametrize(
    "kwargs",
    [{"thinking": False, "reasoning_effort": "high"}, {"reasoning_effort": "extreme"}, {"messages": []}],
)
def test_contradictions_are_bad_requests(kwargs: dict[str, Any]) -> None:
    request = ChatRequest(**{"model": "m", "messages": MESSAGES, **kwargs})
    with pytest.raises(BadRequestError):
        build_chat_body(request, stream=False)


@pytest.mark.parametrize(
    ("max_tokens", "max_completion_tokens", "expected"),
    [(None, 100, 100), (50, None, 50), (50, 100, 50), (None, None, None)],
)
def test_max_completion_tokens_becomes_max_tokens(
    max_tokens: int | None, max_completion_tokens: int | None, expected: int | None
) -> None:
    body = build_chat_body(
        ChatRequest(
            model="m", messages=MESSAGES, max_tokens=max_tokens, max_completion_tokens=max_completion_tokens
        ),
        stream=False,
    )
    assert body.get("max_tokens") == expected
    assert "max_completion_tokens" not in body


def test_stream_asks_for_usage_and_extra_body_merges() -> None:
    request = ChatRequest(
        model="m", messages=MESSAGES, thinking=True, extra_body={"top_k": 5, "chat_template_kwargs": {"x": 1}}
    )
    body = build_chat_body(request, stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["top_k"] == 5
    assert body["chat_template_kwargs"] == {"x": 1, "enable_thinking": True, "thinking": True}
