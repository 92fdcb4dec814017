"""The SDK's floor: a bare `MCPServer` with one no-op tool, served exactly like `chutes-mcp serve`.

    python -m benchmarks.floor_server                         # stdio
    python -m benchmarks.floor_server --transport http --port 0

Over HTTP it is `streamable_http_app(stateless_http=True)` under uvicorn on a pre-bound socket, as
`chutes_mcp.server.streamable_http.serve_http` does, and announces `floor-server: listening on URL` on stderr.
"""

from __future__ import annotations

import argparse
import socket
import sys

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer

LISTENING = "floor-server: listening on "

server = MCPServer("floor", subscriptions=False)


@server.tool()
async def noop() -> str:
    """Do nothing."""
    return "ok"


async def _serve_http(host: str, port: int) -> None:
    app = server.streamable_http_app(stateless_http=True, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    with sock:
        sys.stderr.write(f"{LISTENING}http://{host}:{sock.getsockname()[1]}/mcp\n")
        sys.stderr.flush()
        await uvicorn.Server(config).serve([sock])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor_server")
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.transport == "stdio":
        anyio.run(server.run_stdio_async)
    else:
        anyio.run(_serve_http, args.host, args.port)


if __name__ == "__main__":
    main()
