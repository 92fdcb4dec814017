"""The access log: one JSON line per HTTP request and per tool call, tied together by a request id."""

from collections.abc import Mapping

from chutes_mcp.log import get_logger

REQUEST_ID_HEADER = "x-request-id"
access_log = get_logger("chutes_mcp.access")


def request_headers(request: object) -> Mapping[str, str] | None:
    """The headers of the HTTP request behind an MCP request (Starlette's are case-insensitive); None
    over stdio, where there is none."""
    headers = getattr(request, "headers", None)
    return headers if isinstance(headers, Mapping) else None
