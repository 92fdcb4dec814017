"""Which HTTP requests are let in at all: the outermost layer of the app, before auth and the SDK.

- Host and Origin must be well formed where the SDK checks them (the MCP endpoint). The SDK's
  allow-list matches a `host:*` pattern by prefix (`host.startswith("localhost:")`, mcp 2.3.0), so
  `localhost:1@evil.com`, `localhost:evil.com` or `localhost:80/x` pass as loopback. A Host that is not
  `host[:port]` is refused here with 400 (RFC 9112 §3.2: an invalid Host is a bad request), an Origin
  that is not `scheme://host[:port]` (or `null`) with 403, as the SDK refuses an Origin it does not
  allow; a value in the right form is then the SDK's to allow or not.
- Past `max_in_flight` requests under way, a request gets 503 with `Retry-After`: the connection cap
  (see `http_connections`), where a client reads what happened; the probes are always answered.
- While the server drains (see `shutdown`), the MCP endpoint takes no new tool call: 503, so a client
  or a proxy sends it to another replica. Everything else is still served (the SDK's client lists the
  tools again to check a result it just received; a 2025-era client cancels with a request of its
  own), so the body of each POST is read first while draining: a stop is rare, and the body is
  bounded by the body limit.
Each refusal ends its connection, and the 503s are logged at most once per interval.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcp.types import INVALID_REQUEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chutes_mcp.log import get_logger
from chutes_mcp.server.http_connections import Every
from chutes_mcp.server.shutdown import Shutdown

log = get_logger(__name__)

PROBES = frozenset({"/healthz", "/readyz"})
_SHUTTING_DOWN = "The server is shutting down: send the call again (another replica takes it)"
# A DNS name (underscores too: container and compose service names have them), an IPv4 address, or a
# bracketed IPv6 address, with an optional port.
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>[0-9]{1,5}))?"
_HOST_FORM = re.compile(_HOST)
_ORIGIN_FORM = re.compile(rf"[A-Za-z][A-Za-z0-9+.-]*://{_HOST}")


def _well_formed(value: str, form: re.Pattern[str]) -> bool:
    match = form.fullmatch(value)
    return match is not None and (match["port"] is None or int(match["port"]) <= 65535)


def _response(status: int, body: dict[str, Any], *extra: tuple[bytes, bytes]) -> list[Message]:
    content = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        (b"connection", b"close"),
        *extra,
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": content},
    ]


def _error(message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}


def _header_refusal(scope: Scope) -> list[Message] | None:
    hosts = [value for name, value in scope["headers"] if name == b"host"]
    origins = [value for name, value in scope["headers"] if name == b"origin"]
    if len(hosts) > 1 or not all(_well_formed(host.decode("latin-1"), _HOST_FORM) for host in hosts):
        return _response(400, _error("Invalid Host header: expected one host[:port]"))
    if len(origins) > 1 or not all(
        origin == b"null" or _well_formed(origin.decode("latin-1"), _ORIGIN_FORM) for origin in origins
    ):
        return _response(403, _error("Invalid Origin header: expected one scheme://host[:port]"))
    return None


def _is_tool_call(body: bytes) -> bool:
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(message, dict) and message.get("method") == "tools/call"


class Admission:
    def __init__(
        self, app: ASGIApp, *, path: str, max_in_flight: int, max_body_bytes: int, shutdown: Shutdown
    ) -> None:
        self.app = app
        self.path = path
        self.max_in_flight = max_in_flight
        self.max_body_bytes = max_body_bytes
        self.shutdown = shutdown
        self.in_flight = 0
        self._busy = Every()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None and self.shutdown.draining and scope["path"] == self.path:
            receive, refusal = await self._while_draining(scope, receive)
        if refusal is not None:
            for message in refusal:
                await send(message)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _while_draining(self, scope: Scope, receive: Receive) -> tuple[Receive, list[Message] | None]:
        """A new tool call's refusal; any other request goes on, its body read already."""
        if scope["method"] != "POST":
            return receive, None
        read: list[Message] = []
        size = 0
        while size <= self.max_body_bytes:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                if _is_tool_call(b"".join(part.get("body", b"") for part in read)):
                    return receive, _response(503, _error(_SHUTTING_DOWN), (b"retry-after", b"1"))
                break

        async def replay() -> Message:
            return read.pop(0) if read else await receive()

        return replay, None

    def _refusal(self, scope: Scope) -> list[Message] | None:
        if scope["path"] == self.path and (refusal := _header_refusal(scope)) is not None:
            return refusal
        if self.in_flight >= self.max_in_flight:
            if (held := self._busy.due()) is not None:
                log.warning(
                    "http.busy",
                    max_connections=self.max_in_flight,
                    detail="requests past the cap get 503; raise --max-connections or add replicas",
                    held_back=held,
                )
            message = (
                f"The server is serving as many requests as it takes ({self.max_in_flight}): "
                "send the request again in a moment"
            )
            return _response(503, _error(message), (b"retry-after", b"1"))
        return None
