"""Whether the caller of a tool listens to progress, so work done only for listeners can be skipped."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context


def progress_requested(ctx: Context[Any]) -> bool:
    """True when the request carries a progress token, or when the transport cannot say.

    On the wire (stdio, HTTP) a caller that wants progress sends a `progressToken`. The SDK's
    in-process transport hands the caller's callback over out of band and leaves no token, so a
    request that came that way counts as listening.
    """
    meta = ctx.request_context.meta
    if meta is not None and meta.get("progress_token") is not None:
        return True
    return _transport_kind(ctx) in (None, "direct")


def _transport_kind(ctx: Context[Any]) -> str | None:
    # The SDK keeps a request's transport on its dispatch context, which MCPServer's Context does not
    # expose; if that ever moves, every request counts as listening, as before this check existed.
    outbound = getattr(ctx.request_context.session, "_request_outbound", None)
    kind = getattr(getattr(outbound, "transport", None), "kind", None)
    return kind if isinstance(kind, str) else None
