"""A chat request and the exact JSON body Chutes receives for it, thinking switches included (the ones
the model's family reads: `reasoning_switches`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chutes_mcp.chutes.chat.reasoning_switches import ReasoningEffort, reasoning_controls
from chutes_mcp.chutes.errors import BadRequestError


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
    catalog_reasoning: Mapping[str, bool] = field(default_factory=dict)
    """Whether the catalog lists `reasoning` for each model this request may be sent to; a model left out
    is unknown. A model that does not reason is sent no thinking switch."""
    extra_body: Mapping[str, Any] = field(default_factory=dict)
    tee_only: bool = False
    """Send `X-TEE-Only: true`, so Chutes refuses (426) to run the call on a non-TEE chute."""
    timeout_s: float | None = None
    """Overall deadline for this call, retries included; defaults to CHUTES_TIMEOUT_S."""
    failover_codes: frozenset[str] = frozenset()
    """Error codes not retried on this model, because the caller moves on to another one for them."""


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
    controls = reasoning_controls(
        request.model,
        request.thinking,
        request.reasoning_effort,
        reasons=request.catalog_reasoning.get(request.model),
    )
    if controls.template_kwargs:
        body["chat_template_kwargs"] = {
            **(body.get("chat_template_kwargs") or {}),
            **controls.template_kwargs,
        }
    body.update(controls.fields)
    if stream:
        body["stream"] = True
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    else:
        body["stream"] = False
        body.pop("stream_options", None)
    return body
