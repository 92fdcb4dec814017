"""Where the server keeps its runtime, which it opens after the handshake rather than before it.

Opening the runtime means importing the Chutes domain and the tool modules (about 60 pydantic model
classes, most of what this server spends on its own at start) and starting the catalog refresh. An MCP
host spawns a stdio server and waits for its tool list, and nothing in the handshake or in the lists
needs the domain: the tools' schemas ship with the package (`tool_schemas`). So a stdio server opens
its runtime in the background once it has answered the first `tools/list`, or at once when a request
needs it before that. The imports run in a worker thread, so the event loop keeps answering meanwhile.
An HTTP server (`eager`) opens it before it accepts connections, as it did before: nothing waits on
its tool list, and a load balancer should see it ready only when a call would not wait.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Literal

import anyio

from chutes_mcp.config import Settings
from chutes_mcp.log import get_logger

if TYPE_CHECKING:
    from chutes_mcp.server.runtime import Runtime

log = get_logger(__name__)

TenancyMode = Literal["server", "request", "request-bearer"]

# Everything that needs the Chutes domain, which the server's handlers import when they run, and
# structlog, which the first log line would otherwise import on the loop (see `chutes_mcp.log`).
DEFERRED_MODULES = (
    "structlog",
    "chutes_mcp.server.runtime",
    "chutes_mcp.server.tools",
    "chutes_mcp.server.catalog_documents",
    "chutes_mcp.server.prompt_texts",
)


class RuntimeUnavailableError(RuntimeError):
    """The runtime could not be opened, or the server is shutting down."""


def _import_deferred() -> None:
    for name in DEFERRED_MODULES:
        importlib.import_module(name)


class _Opening:
    """One serving's state: asked for, opened (or failed), closing."""

    def __init__(self) -> None:
        self.wanted = anyio.Event()
        self.settled = anyio.Event()
        self.closing = anyio.Event()
        self.runtime: Runtime | None = None
        self.failure: BaseException | None = None


class RuntimeSlot:
    """The runtime of a running server, for every handler: tools, resources, prompts, completions.

    `serving()` is the server's lifespan; `runtime()` opens the runtime if nobody has asked for it yet
    and waits until it is open. When `eager`, serving starts with the runtime open, or not at all.
    """

    def __init__(self, settings: Settings, *, tenancy: TenancyMode = "server", eager: bool = False) -> None:
        self._settings = settings
        self._tenancy = tenancy
        self._eager = eager
        self._opening: _Opening | None = None

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[RuntimeSlot]:
        opening = self._opening = _Opening()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._open, opening)
                try:
                    if self._eager:
                        await self.runtime()
                    yield self
                finally:
                    opening.closing.set()
                    opening.wanted.set()
        finally:
            self._opening = None

    def want(self) -> None:
        """Start opening the runtime in the background, unless that has begun."""
        if self._opening is not None:
            self._opening.wanted.set()

    async def runtime(self) -> Runtime:
        opening = self._opening
        if opening is not None and opening.runtime is not None:
            return opening.runtime  # every call but the first few: no wait, not even a loop turn
        if opening is None:
            raise RuntimeUnavailableError(
                "the server is not running: its lifespan has not started or has ended"
            )
        opening.wanted.set()
        await opening.settled.wait()
        if opening.runtime is not None:
            return opening.runtime
        if opening.failure is None:
            raise RuntimeUnavailableError("the server is shutting down")
        raise RuntimeUnavailableError("the server could not open its Chutes client") from opening.failure

    @property
    def current(self) -> Runtime | None:
        """The runtime if it is open now; None while it opens."""
        return None if self._opening is None else self._opening.runtime

    async def _open(self, opening: _Opening) -> None:
        await opening.wanted.wait()
        try:
            if not opening.closing.is_set():
                await anyio.to_thread.run_sync(_import_deferred)
            if not opening.closing.is_set():
                from chutes_mcp.server.runtime import open_runtime  # imported just above, off the loop

                async with open_runtime(self._settings, tenancy=self._tenancy) as runtime:
                    opening.runtime = runtime
                    opening.settled.set()
                    await opening.closing.wait()
        except Exception as exc:
            log.exception("runtime.open_failed")
            opening.failure = exc
        finally:
            opening.runtime = None
            opening.settled.set()
