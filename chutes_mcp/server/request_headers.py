"""The headers of the HTTP request being served, for the handlers the SDK gives no request context.

A fixed resource's function takes no `Context` (the SDK refuses one), so `chutes://status` could not
tell whose request it answers, and showed a bring-your-own-key caller the server's own limiter and
breakers instead of the ones its calls go through. The SDK keeps the signed-in caller the same way
(`get_access_token`, a context variable its auth middleware sets); this does it for the headers a
caller's own Chutes key comes in.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

_headers: ContextVar[Mapping[str, str] | None] = ContextVar("chutes_mcp_request_headers", default=None)


def headers_of(request: object) -> Mapping[str, str] | None:
    """The headers of the HTTP request behind an MCP request, as the SDK hands it to a tool (Starlette's
    are case-insensitive); None over stdio, where there is none."""
    headers = getattr(request, "headers", None)
    return headers if isinstance(headers, Mapping) else None


def current_headers() -> Mapping[str, str] | None:
    """The headers of the HTTP request being served (case-insensitive); None over stdio."""
    return _headers.get()


class RequestHeaders:
    """ASGI: each HTTP request's headers are `current_headers()` while it is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _headers.set(Headers(scope=scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _headers.reset(token)
