"""Reading a chat-completions body the way chutes-api's llm host does before it picks a chute.

Covers reference §3.1 steps 2 and 4-9 (body JSON, file parts, regex structured output, logprobs
removal, thinking switches, `tool_choice` injection) and the tool-call argument check of step 12.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from chutes_mcp.sim.generation import OutputFormat
from chutes_mcp.sim.json_instances import has_key
from chutes_mcp.sim.responses import detail

THINKING_SUFFIX = ":THINKING"
# The reasoning controls a client may send, as `/_sim/stats` names them (reference §3.1 step 8).
TEMPLATE_SWITCHES = ("enable_thinking", "thinking", "reasoning_effort")
REGEX_DISABLED = "Regex-based structured output is temporarily disabled."
PATTERN_DISABLED = "Regex-based structured output (JSON schema 'pattern' fields) is temporarily disabled."


class Rejection(Exception):
    """A request chutes-api refuses before any engine sees it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return detail(self.status, self.message)


@dataclass
class ChatRequest:
    body: dict[str, Any]
    model: str | None
    stream: bool
    # None when the caller did not say: the model's default applies.
    thinking: bool | None
    # The reasoning controls as the client sent them, before any mirroring.
    controls: dict[str, Any]
    output: OutputFormat
    tools: list[dict[str, Any]]
    max_tokens: int | None
    stop: tuple[str, ...]

    def seed(self, model: str, thinking: bool, sim_seed: int) -> int:
        """The generation seed: what shapes the answer, not the knobs that only cut it short."""
        material = [
            model,
            self.body.get("messages"),
            self.tools,
            self.output.json_object,
            self.output.schema,
            thinking,
            self.body.get("seed"),
            sim_seed,
        ]
        text = json.dumps(material, separators=(",", ":"), default=str)
        return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


async def read_chat_request(request: Request) -> ChatRequest:
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Rejection(400, f"Invalid request JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Rejection(400, "Invalid request JSON: expected an object")
    messages = body.get("messages")
    if isinstance(messages, list) and any(_has_file_part(message) for message in messages):
        raise Rejection(400, "File content not currently supported")
    output = _output_format(body)
    body.pop("logprobs", None)
    body.pop("top_logprobs", None)
    model = body.get("model")
    suffix_thinking = isinstance(model, str) and model.endswith(THINKING_SUFFIX)
    if suffix_thinking and isinstance(model, str):
        model = body["model"] = model.removesuffix(THINKING_SUFFIX)
    header_thinking = request.headers.get("x-enable-thinking", "").lower() == "true"
    controls = _controls(body)
    tools = [tool for tool in body.get("tools") or () if isinstance(tool, dict)]
    if tools and "tool_choice" not in body:
        body["tool_choice"] = "auto"
    return ChatRequest(
        body=body,
        model=model if isinstance(model, str) else None,
        stream=body.get("stream") is True,
        thinking=_thinking_switch(body, forced=suffix_thinking or header_thinking),
        controls=controls,
        output=output,
        tools=tools,
        max_tokens=_max_tokens(body),
        stop=_stops(body.get("stop")),
    )


def check_messages(body: Mapping[str, Any]) -> None:
    """The last checks before the engine: a message list, and assistant tool calls sent back in the
    history with JSON arguments (reference §3.1 step 12)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Rejection(400, _engine_error("messages must be a non-empty list"))
    for message in messages:
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, Mapping) else None
            arguments = function.get("arguments") if isinstance(function, Mapping) else None
            if not isinstance(arguments, str) or arguments == "":
                continue
            try:
                json.loads(arguments)
            except json.JSONDecodeError:
                raise Rejection(400, "Invalid tool_calls.function.arguments value, expected JSON") from None


def _engine_error(message: str) -> str:
    # An engine 400 relayed by chutes-api, prefix doubled as in its code (reference §7.1).
    error = {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400}
    return f"Invalid request: Invalid request: {json.dumps(error)}"


def _has_file_part(message: Any) -> bool:
    content = message.get("content") if isinstance(message, Mapping) else None
    if not isinstance(content, list):
        return False
    return any(isinstance(part, Mapping) and ("file" in part or "file_url" in part) for part in content)


def _output_format(body: Mapping[str, Any]) -> OutputFormat:
    structured = body.get("structured_outputs")
    structured = structured if isinstance(structured, Mapping) else {}
    if "guided_regex" in body or "regex" in structured:
        raise Rejection(400, REGEX_DISABLED)
    schema: Any = structured.get("json") or body.get("guided_json")
    response_format = body.get("response_format")
    json_object = False
    if isinstance(response_format, Mapping):
        if response_format.get("type") == "json_schema":
            spec = response_format.get("json_schema")
            schema = spec.get("schema") if isinstance(spec, Mapping) else None
            json_object = schema is None
        json_object = json_object or response_format.get("type") == "json_object"
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError:
            schema = None
    if schema is not None and has_key(schema, "pattern"):
        raise Rejection(400, PATTERN_DISABLED)
    return OutputFormat(json_object=json_object, schema=schema)


def _controls(body: Mapping[str, Any]) -> dict[str, Any]:
    kwargs = body.get("chat_template_kwargs")
    sent = {
        f"chat_template_kwargs.{key}": kwargs[key]
        for key in TEMPLATE_SWITCHES
        if isinstance(kwargs, Mapping) and key in kwargs
    }
    if "reasoning_effort" in body:
        sent["reasoning_effort"] = body["reasoning_effort"]
    return sent


def _thinking_switch(body: dict[str, Any], *, forced: bool) -> bool | None:
    kwargs = body.get("chat_template_kwargs")
    if forced:
        kwargs = body["chat_template_kwargs"] = {
            **(kwargs if isinstance(kwargs, dict) else {}),
            "thinking": True,
            "enable_thinking": True,
        }
        return True
    if not isinstance(kwargs, dict):
        return None
    for said, other in (("enable_thinking", "thinking"), ("thinking", "enable_thinking")):
        if said in kwargs:
            kwargs[other] = kwargs[said]
            return bool(kwargs[said])
    return None


def _max_tokens(body: Mapping[str, Any]) -> int | None:
    # vLLM prefers `max_completion_tokens` over the older `max_tokens`.
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _stops(stop: Any) -> tuple[str, ...]:
    if isinstance(stop, str):
        return (stop,)
    if isinstance(stop, list):
        return tuple(item for item in stop if isinstance(item, str))
    return ()
