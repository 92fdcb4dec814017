"""How much one tool result may carry, and the typed error for a result past it.

Every TypeScript-SDK host (Claude Desktop, VS Code, Cursor, ...) reads stdio into a buffer capped at
10 MiB (`STDIO_DEFAULT_MAX_BUFFER_SIZE`); a line that does not fit closes the transport, and every later
call on that connection fails too. A result is therefore refused, as a typed `result_too_large` error
that says how to ask for less, rather than sent.

MAX_RESULT_BYTES is 8 MiB of the result serialized as the SDK sends it (UTF-8 JSON, strings escaped).
The 2 MiB left below 10 MiB hold the JSON-RPC envelope and `_meta` (bytes, not megabytes), a second
serializer that escapes more than ours (`\\uXXXX` for characters pydantic writes as UTF-8: text carries
little of a large result, which is vectors or ASCII), and the read chunk (64 KiB) a host may append to
the buffer before it has split the line off.
"""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult
from pydantic import TypeAdapter

from chutes_mcp.server.error_results import RESULT_TOO_LARGE, error_payload, error_result

MIB = 1024 * 1024
MAX_RESULT_BYTES = 8 * MIB

_RESULT = TypeAdapter(CallToolResult)

_GENERIC_HINT = (
    "Ask for less in one call (fewer inputs, a smaller page, fewer tokens) and split the work over "
    "several calls."
)


class ResultTooLargeError(Exception):
    """A tool found, before or while working, that its result would pass MAX_RESULT_BYTES."""

    def __init__(self, message: str, hint: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Machine-readable figures for the agent (e.g. `max_inputs`), added to the error's JSON.
        self.details = details


def serialized_size(result: CallToolResult) -> int:
    """Bytes of `result` as JSON, serialized the way the SDK writes it to the wire."""
    return len(_RESULT.dump_json(result, by_alias=True, exclude_none=True))


def too_large_result(exc: ResultTooLargeError) -> CallToolResult:
    payload = error_payload(RESULT_TOO_LARGE, exc.message, exc.hint)
    payload.update(limit_bytes=MAX_RESULT_BYTES, **exc.details)
    return error_result(payload)


def bounded(tool: str, result: CallToolResult) -> CallToolResult:
    """`result` when it fits in MAX_RESULT_BYTES; otherwise the `result_too_large` error in its place."""
    size = serialized_size(result)
    if size <= MAX_RESULT_BYTES:
        return result
    return too_large_result(
        ResultTooLargeError(
            f"the {tool} result is {size / MIB:.1f} MiB, more than the {MAX_RESULT_BYTES // MIB} MiB one "
            "tool result may carry (MCP hosts drop the connection on larger messages)",
            _GENERIC_HINT,
            size_bytes=size,
        )
    )
