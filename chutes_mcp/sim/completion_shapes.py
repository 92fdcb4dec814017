"""The bytes a vLLM or SGLang chute answers with, plus Chutes' additions (reference §3.2, §3.3).

Per engine (picked by the entry's `owned_by`):
- vLLM: ids `chatcmpl-<hex>`, tool-call ids `chatcmpl-tool-<hex>`, reasoning in `reasoning`, choices carry
  `stop_reason` (the matched stop string or null). Streams carry a running `usage` on every chunk, as
  vLLM does under the `continuous_usage_stats` that chutes-api forces on streams.
- SGLang: bare 32-hex ids, tool-call ids `call_<24hex>`, reasoning in `reasoning_content`, choices carry
  `matched_stop`; every stream delta spells out `role`/`content`/`reasoning_content`/`tool_calls`
  (null when unused) and every chunk has `"usage":null` until the usage-only chunk.
Both: `chutes_verification` on the body and on every chunk, `metadata.weight_version` on the body, and a
final usage-only chunk (`"choices":[]`) before `data: [DONE]` whether or not the client asked for usage.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from chutes_mcp.sim.generation import Generation, ToolCall
from chutes_mcp.sim.model_profile import ModelProfile

DONE = b"data: [DONE]\n\n"


def completion_id(profile: ModelProfile) -> str:
    return secrets.token_hex(16) if profile.sglang else f"chatcmpl-{secrets.token_hex(16)}"


def tool_call_id(profile: ModelProfile) -> str:
    return f"call_{secrets.token_hex(12)}" if profile.sglang else f"chatcmpl-tool-{secrets.token_hex(16)}"


# `json.dumps` with non-default options builds a new encoder per call, which is most of the cost of
# encoding one token; one shared encoder writes the same text.
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _value(value: Any) -> str:
    return "null" if value is None else _dumps(value)


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def completion_body(
    profile: ModelProfile, generation: Generation, call_ids: list[str], created: int
) -> dict[str, Any]:
    """The non-streamed `chat.completion` object."""
    reasoning = "".join(generation.reasoning) or None
    calls: list[dict[str, Any]] = []
    for index, (call, call_id) in enumerate(zip(generation.tool_calls, call_ids, strict=True)):
        function = {"name": call.name, "arguments": call.arguments}
        calls.append(
            {"id": call_id, "index": index, "type": "function", "function": function}
            if profile.sglang
            else {"id": call_id, "type": "function", "function": function}
        )
    message: dict[str, Any] = {"role": "assistant", "content": generation.text}
    choice: dict[str, Any] = {"index": 0, "message": message, "logprobs": None}
    choice["finish_reason"] = generation.finish_reason
    if profile.sglang:
        message["reasoning_content"] = reasoning
        message["tool_calls"] = calls or None
        choice["matched_stop"] = generation.matched_stop
    else:
        message["reasoning"] = reasoning
        message["tool_calls"] = calls
        choice["stop_reason"] = generation.matched_stop
    return {
        "id": completion_id(profile),
        "object": "chat.completion",
        "created": created,
        "model": profile.name,
        "choices": [choice],
        "usage": usage(generation.prompt_tokens, generation.completion_tokens),
        "metadata": {"weight_version": "default"},
        "chutes_verification": secrets.token_hex(16),
    }


class ChunkWriter:
    """Builds one stream's `data:` lines; the fixed parts are formatted once per stream."""

    def __init__(self, profile: ModelProfile, prompt_tokens: int, created: int) -> None:
        self._sglang = profile.sglang
        self._prompt_tokens = prompt_tokens
        self._sent = 0
        self._open = (
            f'data: {{"id":{_dumps(completion_id(profile))},"object":"chat.completion.chunk",'
            f'"created":{created},"model":{_dumps(profile.name)},"choices":'
        )
        self._verification = f',"chutes_verification":"{secrets.token_hex(16)}"}}\n\n'
        self._pending_choice = (
            ',"logprobs":null,"finish_reason":null,"matched_stop":null}]'
            if self._sglang
            else ',"logprobs":null,"finish_reason":null}]'
        )

    def _chunk(self, delta: str, tokens: int = 1, choice_tail: str | None = None) -> bytes:
        self._sent += tokens
        if self._sglang:
            usage_part = ',"usage":null'
        else:
            total = self._prompt_tokens + self._sent
            usage_part = (
                f',"usage":{{"prompt_tokens":{self._prompt_tokens},"total_tokens":{total},'
                f'"completion_tokens":{self._sent}}}'
            )
        tail = self._pending_choice if choice_tail is None else choice_tail
        return f'{self._open}[{{"index":0,"delta":{delta}{tail}{usage_part}{self._verification}'.encode()

    def _delta(
        self,
        *,
        role: str | None = None,
        content: str | None = None,
        reasoning: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
    ) -> str:
        # Spelled out rather than built as a dict and dumped: this runs once per token.
        if self._sglang:
            return (
                f'{{"role":{_value(role)},"content":{_value(content)},'
                f'"reasoning_content":{_value(reasoning)},"tool_calls":{_value(tool_calls)}}}'
            )
        fields: list[str] = []
        if role is not None:
            fields.append(f'"role":{_dumps(role)}')
        if content is not None:
            fields.append(f'"content":{_dumps(content)}')
        if reasoning is not None:
            fields.append(f'"reasoning":{_dumps(reasoning)}')
        if tool_calls is not None:
            fields.append(f'"tool_calls":{_dumps(tool_calls)}')
        return "{" + ",".join(fields) + "}"

    def role(self) -> bytes:
        return self._chunk(self._delta(role="assistant", content=""), tokens=0)

    def content(self, piece: str) -> bytes:
        return self._chunk(self._delta(content=piece))

    def reasoning(self, piece: str) -> bytes:
        return self._chunk(self._delta(reasoning=piece))

    def tool_call_start(self, index: int, call_id: str, call: ToolCall) -> bytes:
        function = {"name": call.name, "arguments": ""}
        item = {"index": index, "id": call_id, "type": "function", "function": function}
        return self._chunk(self._delta(tool_calls=[item]))

    def tool_call_arguments(self, index: int, piece: str) -> bytes:
        return self._chunk(self._delta(tool_calls=[{"index": index, "function": {"arguments": piece}}]))

    def finish(self, reason: str, matched_stop: str | None) -> bytes:
        stop_key = "matched_stop" if self._sglang else "stop_reason"
        tail = f',"logprobs":null,"finish_reason":"{reason}","{stop_key}":{_value(matched_stop)}}}]'
        delta = self._delta() if self._sglang else "{}"
        return self._chunk(delta, tokens=0, choice_tail=tail)

    def usage(self) -> bytes:
        # `usage()` spelled out, like the running usage in `_chunk`: through the JSON encoder it costs
        # more than the rest of the chunk.
        prompt, sent = self._prompt_tokens, self._sent
        body = (
            f'{{"prompt_tokens":{prompt},"total_tokens":{prompt + sent},"completion_tokens":{sent},'
            '"prompt_tokens_details":{"cached_tokens":0}}'
        )
        return f'{self._open}[],"usage":{body}{self._verification}'.encode()
