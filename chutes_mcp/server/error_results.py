"""Every failure a tool reports, in one shape an agent can act on.

The text starts with the stable error code, gives the hint, and ends with a JSON object
(`code`, `hint`, `retry_after_s`, `invocation_id`, ...), so a model can read it and a program can parse
its last line. The result is built directly (not raised as `ToolError`) because the SDK prefixes raised
tool errors with "Error executing tool <name>:", which would hide the code.
"""

from __future__ import annotations

import json
from typing import Any

from mcp.types import CallToolResult, TextContent

from chutes_mcp.chutes.errors import ChutesError

# Codes of failures found by the server itself, before or around a Chutes call.
INVALID_ARGUMENTS = "invalid_arguments"
INTERNAL_ERROR = "internal_error"
# The result would be larger than one MCP message may safely be (see result_size.py).
RESULT_TOO_LARGE = "result_too_large"
# The server stopped (SIGTERM, SIGINT, a stdio host leaving) before the call finished (see shutdown.py).
SHUTDOWN = "shutdown"


def error_payload(
    code: str,
    message: str,
    hint: str,
    *,
    retryable: bool = False,
    retry_after_s: float | None = None,
    invocation_id: str | None = None,
    status: int | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "hint": hint,
        "retryable": retryable,
        "retry_after_s": retry_after_s,
        "invocation_id": invocation_id,
        "status": status,
    }


def error_text(payload: dict[str, Any]) -> str:
    return f"{payload['code']}: {payload['message']}\nHint: {payload['hint']}\n{json.dumps(payload)}"


def error_result(payload: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=error_text(payload))], is_error=True)


def chutes_error_result(exc: ChutesError) -> CallToolResult:
    payload = error_payload(
        exc.code,
        exc.message,
        exc.hint,
        retryable=exc.retryable,
        retry_after_s=exc.retry_after_s,
        invocation_id=exc.invocation_id,
        status=exc.status,
    )
    if exc.partial_text:
        # The answer broke off after it began: what had arrived was billed, and is the caller's.
        payload["partial_text"] = exc.partial_text
    return error_result(payload)


def shutdown_result(partial_text: str) -> CallToolResult:
    """A call the server's stop ended: worth sending again, to another replica or to this server once
    it is back; what its answer had streamed is the caller's (and billed)."""
    payload = error_payload(
        SHUTDOWN,
        "the server stopped before this call finished (it is restarting, or being replaced)",
        "Call again: another replica, or this server once it is back, answers it."
        + (" `partial_text` has the answer as far as it had arrived." if partial_text else ""),
        retryable=True,
    )
    if partial_text:
        payload["partial_text"] = partial_text
    return error_result(payload)


def house_error_code(text: str) -> str | None:
    """The code of an error text in the shape above (its last line a JSON object with a `code`); None
    for any other text."""
    _, _, last = text.rpartition("\n")
    try:
        payload = json.loads(last)
    except ValueError:
        return None
    code = payload.get("code") if isinstance(payload, dict) else None
    return code if isinstance(code, str) else None
