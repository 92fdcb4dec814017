"""A chat request and the exact JSON body Chutes receives for it, including the thinking switches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from chutes_mcp.chutes.errors import BadRequestError

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high"]
_EFFORT_ON = frozenset({"low", "medium", "high"})


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: Sequence[Mapping[str, Any]]
    max_tokens: int | None = None
    # OpenAI's newer name; Chutes' engines read `max_tokens`, so it is sent under that name.
    max_completion_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: str | Sequence[str] | None = None
    seed: int | None = None
    tools: Sequence[Mapping[str, Any]] | None = None
    tool_choice: str | Mapping[str, Any] | None = None
    response_format: Mapping[str, Any] | None = None
    thinking: bool | None = None
    reasoning_effort: ReasoningEffort | None = None
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    tee_only: bool = False
    """Send `X-TEE-Only: true`, so Chutes refuses (426) to run the call on a non-TEE chute."""
    timeout_s: float | None = None
    """Overall deadline for this call, retries included; defaults to CHUTES_TIMEOUT_S."""
    failover_codes: frozenset[str] = frozenset()
    """Error codes not retried on this model, because the caller moves on to another one for them."""


def thinking_switch(thinking: bool | None, reasoning_effort: str | None) -> bool | None:
    """Whether to ask for thinking: None leaves the model's own default in place."""
    if reasoning_effort is not None and reasoning_effort not in get_args(ReasoningEffort):
        raise BadRequestError(
            f"reasoning_effort {reasoning_effort!r} is not one of none, minimal, low, medium, high",
            hint="Use reasoning_effort low|medium|high to think, none|minimal not to.",
        )
    from_effort = None if reasoning_effort is None else reasoning_effort in _EFFORT_ON
    if thinking is not None and from_effort is not None and thinking != from_effort:
        raise BadRequestError(
            f"thinking={thinking} contradicts reasoning_effort={reasoning_effort!r}",
            hint="Give only one of thinking and reasoning_effort, or make them agree.",
        )
    return thinking if thinking is not None else from_effort


def build_chat_body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
    if not request.messages:
        raise BadRequestError("messages is empty", hint="Send at least one message.")
    body: dict[str, Any] = {**request.extra_body, "model": request.model, "messages": list(request.messages)}
    max_tokens = request.max_tokens
    if request.max_completion_tokens is not None:
        max_tokens = (
            request.max_completion_tokens
            if max_tokens is None
            else min(max_tokens, request.max_completion_tokens)
        )
    optional = {
        "max_tokens": max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": request.stop,
        "seed": request.seed,
        "tools": list(request.tools) if request.tools is not None else None,
        "tool_choice": request.tool_choice,
        "response_format": request.response_format,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    body.pop("max_completion_tokens", None)
    thinking = thinking_switch(request.thinking, request.reasoning_effort)
    if thinking is not None:
        # Chutes mirrors one key to the other, but templates differ in which they read: send both.
        kwargs = dict(body.get("chat_template_kwargs") or {})
        kwargs.update(enable_thinking=thinking, thinking=thinking)
        body["chat_template_kwargs"] = kwargs
    if request.reasoning_effort in _EFFORT_ON:
        # gpt-oss reads the effort level itself; engines reject none/minimal, which map to thinking off.
        body["reasoning_effort"] = request.reasoning_effort
    if stream:
        body["stream"] = True
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    else:
        body["stream"] = False
        body.pop("stream_options", None)
    return body
