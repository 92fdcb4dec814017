"""A server with one tool that answers whether its caller listens to progress; stdio when run."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer

from chutes_mcp.server.progress import progress_requested

server: MCPServer[Any] = MCPServer("progress-probe")


@server.tool()
async def listening(ctx: Context[Any]) -> str:
    return str(progress_requested(ctx))


if __name__ == "__main__":
    server.run()
