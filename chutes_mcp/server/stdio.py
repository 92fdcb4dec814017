"""Serving MCP over stdio, through the SDK's transport.

The SDK's writer stops the whole server, with a traceback, when the host closes its end of stdout
(python-sdk PR #3097, open). Answers cannot reach such a host any more, so the server stops working
for it and reads stdin until the host closes that too, which is when a stdio server exits.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import anyio

from chutes_mcp.log import get_logger

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = get_logger(__name__)

_READ_SIZE = 1 << 16


def _discard_until_end(fd: int) -> None:
    """Read `fd` to its end and close it, so a host still writing never blocks on a full pipe."""
    try:
        while os.read(fd, _READ_SIZE):
            pass
    finally:
        os.close(fd)


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve `server` on this process's stdin and stdout until the client hangs up."""
    try:
        await server.run_stdio_async()
    except* BrokenPipeError:
        log.info("the host closed stdout; waiting for it to close stdin")
        # A duplicate of its own: a read left behind by a cancellation keeps its descriptor.
        await anyio.to_thread.run_sync(_discard_until_end, os.dup(0), abandon_on_cancel=True)
