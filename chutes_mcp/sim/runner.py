"""Running the simulator: as the `chutes-mcp sim` process, or embedded in another async program."""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import anyio
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from chutes_mcp import log
from chutes_mcp.sim.app import create_app
from chutes_mcp.sim.catalog import CatalogFileError
from chutes_mcp.sim.identity import demo_api_key
from chutes_mcp.sim.state import SimOptions, SimState
from chutes_mcp.sim.write_batching import BatchingTransport

__all__ = ["RunningSim", "SimOptions", "SimURLs", "run", "running"]


@dataclass(frozen=True)
class SimURLs:
    """Where each simulated Chutes host lives on the one port (see `hosts.py`)."""

    url: str

    @property
    def llm_base(self) -> str:
        return f"{self.url}/v1"

    @property
    def embed_base(self) -> str:
        return f"{self.url}/embed/v1"

    @property
    def management_base(self) -> str:
        return f"{self.url}/api"


@dataclass(frozen=True)
class RunningSim(SimURLs):
    state: SimState


def _protocol(state: SimState) -> type[H11Protocol]:
    # ASGI never sees TCP connections, so count them where uvicorn accepts them: tests and benchmarks
    # use this to prove that a client reuses one pooled connection. The transport uvicorn gets
    # batches its writes (see `write_batching`).
    class SimProtocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            state.stats.tcp_connections += 1
            self.batching = BatchingTransport(transport)
            super().connection_made(self.batching)

        def on_response_complete(self) -> None:
            # A finished response has nothing left to batch with: send it now, not a loop turn later.
            self.batching.flush()
            super().on_response_complete()

    return SimProtocol


def _server(options: SimOptions, state: SimState) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(state),
        host=options.host,
        port=options.port,
        http=_protocol(state),
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_keep_alive=30,
        server_header=False,  # the simulated edge says `server: nginx` itself
    )
    return uvicorn.Server(config)


def _bind(host: str, port: int) -> socket.socket:
    """Bind before uvicorn starts, so a taken port is a plain OSError and port 0 is known at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # An explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it Nagle plus delayed ACKs add ~40 ms to every request.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now lets clients connect (into the backlog) before uvicorn's loop is up.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _url(sock: socket.socket, host: str) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{sock.getsockname()[1]}"


@asynccontextmanager
async def running(options: SimOptions, *, quiet: bool = False) -> AsyncIterator[RunningSim]:
    """Serve the simulator in the background of the caller's event loop until the block exits.

    `quiet`: only its warnings and errors are logged (embedded in a command with a server of its own).
    """
    state = SimState.from_options(options)
    server = _server(options, state)
    with _bind(options.host, options.port) as sock:
        async with anyio.create_task_group() as tg:
            with log.below_warning_muted() if quiet else nullcontext():
                tg.start_soon(server.serve, [sock])
            try:
                yield RunningSim(url=_url(sock, options.host), state=state)
            finally:
                server.should_exit = True


def _announce(sim: RunningSim) -> None:
    sys.stderr.write(
        f"chutes-mcp sim: serving {sim.url} (Ctrl-C stops it)\n"
        "# Point chutes-mcp at it from another shell (any well-formed cpk_ key works):\n"
        f"export CHUTES_API_BASE={sim.llm_base}\n"
        f"export CHUTES_EMBED_BASE={sim.embed_base}\n"
        f"export CHUTES_MANAGEMENT_BASE={sim.management_base}\n"
        f"export CHUTES_API_KEY={demo_api_key()}\n"
    )
    sys.stderr.flush()


async def _serve_forever(options: SimOptions) -> None:
    async with running(options) as sim:
        _announce(sim)
        await anyio.sleep_forever()


def run(options: SimOptions) -> int:
    """Serve until interrupted (Ctrl-C is left to the caller); 2 when the options are unusable (a bad
    catalog file), 1 when the port is."""
    try:
        anyio.run(_serve_forever, options)
    except CatalogFileError as exc:
        sys.stderr.write(f"chutes-mcp sim: --catalog: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"chutes-mcp sim: {exc}\n")
        return 1
    return 0
