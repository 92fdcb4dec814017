"""The access log: one JSON line per HTTP request and per tool call, tied together by a request id."""

from chutes_mcp.log import get_logger

REQUEST_ID_HEADER = "x-request-id"
access_log = get_logger("chutes_mcp.access")
