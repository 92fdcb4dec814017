"""OpenAI-style chat completion payloads from Chutes, turned into typed events and results.

Tolerates what Chutes and its engines really send: usage-only chunks with `choices: []`, usage on any
chunk (the last one counts), `reasoning_content` or `reasoning`, `null` fields, and unknown keys.

Payloads come from `json.loads`, so JSON objects are checked for as `dict`: an `isinstance` against the
`Mapping` ABC runs in Python, and the chunk decoder runs once per token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chutes_mcp.chutes.types import (
    ChatEvent,
    ChatResult,
    Done,
    ReasoningDelta,
    ResponseMeta,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)


def _reasoning_of(part: Mapping[str, Any]) -> str:
    value = part.get("reasoning_content") or part.get("reasoning")
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _first_choice(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return None


class ChunkDecoder:
    """Turns streamed chunk objects into events; keeps the last usage, finish reason and model."""

    def __init__(self, requested_model: str) -> None:
        self.model = requested_model
        self.finish_reason: str | None = None
        # Some engines put usage on every chunk: only the last one is parsed, when it is asked for.
        self._usage_payload: Mapping[str, Any] | None = None

    @property
    def usage(self) -> Usage | None:
        return Usage.from_payload(self._usage_payload)

    def feed(self, chunk: dict[str, Any]) -> list[ChatEvent]:
        model = chunk.get("model")
        if isinstance(model, str):
            self.model = model
        payload = chunk.get("usage")
        if isinstance(payload, dict):
            self._usage_payload = payload
        choice = _first_choice(chunk)
        if choice is None:
            return []
        finish_reason = choice.get("finish_reason")
        if isinstance(finish_reason, str):
            self.finish_reason = finish_reason
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            return []
        reasoning = _reasoning_of(delta)
        events: list[ChatEvent] = [ReasoningDelta(reasoning)] if reasoning else []
        content = delta.get("content")
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        for position, call in enumerate(delta.get("tool_calls") or ()):
            if not isinstance(call, dict):
                continue
            function = _mapping(call.get("function"))
            arguments = function.get("arguments")
            events.append(
                ToolCallDelta(
                    index=call["index"] if isinstance(call.get("index"), int) else position,
                    id=call.get("id") if isinstance(call.get("id"), str) else None,
                    name=function.get("name") if isinstance(function.get("name"), str) else None,
                    arguments=arguments if isinstance(arguments, str) else "",
                )
            )
        return events

    def finish(self, meta: ResponseMeta) -> list[ChatEvent]:
        usage = self.usage
        events: list[ChatEvent] = [UsageEvent(usage)] if usage else []
        events.append(Done(self.finish_reason, self.model, meta))
        return events


class _ToolCallBuilder:
    def __init__(self, index: int, call_id: str | None) -> None:
        self.index = index
        self.id = call_id
        self.name = ""
        self.arguments: list[str] = []

    def build(self) -> ToolCall:
        return ToolCall(index=self.index, id=self.id, name=self.name, arguments="".join(self.arguments))


class ChatAccumulator:
    """Folds stream events into a `ChatResult`; `text` is available at any time as the partial answer."""

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _ToolCallBuilder] = {}
        self.usage: Usage | None = None
        self.done: Done | None = None

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def started(self) -> bool:
        return bool(self._text or self._reasoning or self._calls)

    def add(self, event: ChatEvent) -> None:
        match event:
            case TextDelta(text):
                self._text.append(text)
            case ReasoningDelta(text):
                self._reasoning.append(text)
            case ToolCallDelta():
                self._add_tool_delta(event)
            case UsageEvent(usage):
                self.usage = usage
            case Done():
                self.done = event

    def _add_tool_delta(self, delta: ToolCallDelta) -> None:
        builder = self._calls.get(delta.index)
        if builder is None or (delta.id and builder.id and delta.id != builder.id):
            # A new id on a used index is a new call (engines have sent parallel calls all at index 0).
            index = delta.index if builder is None else max(self._calls) + 1
            builder = self._calls[index] = _ToolCallBuilder(index, delta.id)
        if delta.name:
            builder.name += delta.name
        builder.arguments.append(delta.arguments)

    def result(self) -> ChatResult:
        if self.done is None:
            raise RuntimeError("the stream has not finished")
        return ChatResult(
            text=self.text,
            reasoning="".join(self._reasoning),
            tool_calls=tuple(builder.build() for _, builder in sorted(self._calls.items())),
            finish_reason=self.done.finish_reason,
            model=self.done.model,
            usage=self.usage,
            meta=self.done.meta,
        )


def result_from_completion(
    body: Mapping[str, Any], *, requested_model: str, meta: ResponseMeta
) -> ChatResult:
    """A non-streamed `chat.completion` body as a `ChatResult`."""
    choice = _first_choice(body) or {}
    message = _mapping(choice.get("message"))
    calls = []
    for position, call in enumerate(message.get("tool_calls") or ()):
        if not isinstance(call, dict):
            continue
        function = _mapping(call.get("function"))
        calls.append(
            ToolCall(
                # Position, not the engine's `index`: SGLang has numbered parallel calls all 0.
                index=position,
                id=call.get("id") if isinstance(call.get("id"), str) else None,
                name=str(function.get("name") or ""),
                arguments=str(function.get("arguments") or ""),
            )
        )
    content = message.get("content")
    finish = choice.get("finish_reason")
    return ChatResult(
        text=content if isinstance(content, str) else "",
        reasoning=_reasoning_of(message),
        tool_calls=tuple(calls),
        finish_reason=finish if isinstance(finish, str) else None,
        model=body["model"] if isinstance(body.get("model"), str) else requested_model,
        usage=Usage.from_payload(body.get("usage")),
        meta=meta,
    )
