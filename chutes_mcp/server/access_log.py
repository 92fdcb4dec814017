"""The access log: one line per HTTP request, and one per tool call made without HTTP (stdio).

A tool call over HTTP is one request, so its line is the request's: the HTTP middleware leaves a dict
in the ASGI scope (`TOOL_CALL_SCOPE_KEY`) for the call's fields, and writes them with its own.
"""

from typing import Any

from chutes_mcp.log import get_logger

REQUEST_ID_HEADER = "x-request-id"
TOOL_CALL_SCOPE_KEY = "chutes_mcp.tool_call"
access_log = get_logger("chutes_mcp.access")


def tool_call_fields(request: object) -> dict[str, Any] | None:
    """Where the HTTP request behind an MCP request collects its tool call's log fields; None over
    stdio, or when no access log wraps the app."""
    scope = getattr(request, "scope", None)
    fields = scope.get(TOOL_CALL_SCOPE_KEY) if isinstance(scope, dict) else None
    return fields if isinstance(fields, dict) else None
