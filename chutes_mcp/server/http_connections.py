"""HTTP connections, bounded: none may hold a socket without sending a request, none may send an
endless request head, and together they never take the file descriptors the rest of the process needs.

uvicorn bounds less than a public server needs (0.55, with httptools, which this package installs):
- Its `timeout_keep_alive` starts only after a response. A connection that sends nothing, or dribbles
  its head a byte at a time (slowloris), is never timed out: each holds a descriptor for good.
- httptools takes request heads of any size (40 MB in one test); only its h11 parser has a bound
  (`h11_max_incomplete_event_size`).
- Its `limit_concurrency` counts idle connections as well, so a few hundred sockets that send nothing
  turn every real request away with 503; and it answers with a bare text page, logged once per refusal.
- Past the open-file limit, asyncio's accept loop logs a traceback for every connection still queued,
  and retries each a second later, without stopping (CPython #151615): 272,366 tracebacks in 30 s.

So the HTTP protocol uvicorn runs (its `http` setting) is its own httptools protocol plus, through its
public callbacks: a deadline for each request head (`header_timeout_s`, from the connection's opening
or the head's first byte to its end: 408, or a silent close when nothing came), the same bound on each
silence within a request body (a client that stops sending one holds its request's place otherwise),
a bound on the head's size (431), and a registry of the open connections which, once `max_connections` are open, makes room for a
newcomer by closing the connection that has waited longest without a request under way. The cap's 503
for requests past it is the ASGI layer's (`http_admission`), with a message a host can show. The cap
and the listen backlog (asyncio accepts that many connections in one go, before any can be closed)
fit within the open-file limit, raised to what they need where the hard limit allows, with
descriptors kept for the upstream pool (as many as it may open; under a low limit, half of what is
left) and `FD_RESERVE` more for the event loop and files. Accept failures that remain are logged at
most once per `LOG_INTERVAL_S`.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from chutes_mcp.log import get_logger

log = get_logger(__name__)

# Descriptors kept for everything but client connections and the upstream pool: the listener, the event
# loop, logs, the catalog cache and Redis.
FD_RESERVE = 128
# The listen backlog when descriptors are plentiful; asyncio also accepts up to this many at once.
BACKLOG = 2048
# A request head is a few hundred bytes, a few KB with cookies; nginx allows 32 KB by default.
MAX_HEAD_BYTES = 64 * 1024
LOG_INTERVAL_S = 30.0
_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Every:
    """Lets one log line through per interval, counting the ones it held back."""

    def __init__(self, interval_s: float = LOG_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._last: float | None = None
        self._held = 0

    def due(self) -> int | None:
        """How many were held back since the last line, when one is due now; None while not."""
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval_s:
            self._held += 1
            return None
        held, self._held, self._last = self._held, 0, now
        return held


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_timeout_s: float
    max_head_bytes: int = MAX_HEAD_BYTES


class OpenConnections:
    """The open connections of one server, the idle ones by how long they have waited."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._open: set[GuardedHttpProtocol] = set()
        self._idle: OrderedDict[GuardedHttpProtocol, None] = OrderedDict()
        self._full = Every()

    def __len__(self) -> int:
        return len(self._open)

    def opened(self, connection: GuardedHttpProtocol) -> None:
        self._open.add(connection)
        self._idle[connection] = None
        evicted = 0
        while len(self._open) > self.limits.max_connections:
            oldest = next(iter(self._idle))
            if oldest is connection:
                break  # every other connection is serving a request: the newcomer's gets a 503
            self.closed(oldest)
            oldest.evict()
            evicted += 1
        if evicted and (held := self._full.due()) is not None:
            log.warning(
                "http.connections_full",
                max_connections=self.limits.max_connections,
                detail="closing the connections that waited longest without a request",
                held_back=held,
            )

    def busy(self, connection: GuardedHttpProtocol) -> None:
        self._idle.pop(connection, None)

    def idle(self, connection: GuardedHttpProtocol) -> None:
        if connection in self._open:
            self._idle[connection] = None

    def closed(self, connection: GuardedHttpProtocol) -> None:
        self._open.discard(connection)
        self._idle.pop(connection, None)


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds above; `bounded_protocol` makes one per server."""

    open_connections: ClassVar[OpenConnections]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline: asyncio.TimerHandle | None = None
        self._body_deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._reading_head = True
        self._serving = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.open_connections.opened(self)
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        self._disarm_body_deadline()
        self.open_connections.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._reading_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            limit = self.open_connections.limits.max_head_bytes
            if self._head_bytes > limit:
                self._refuse(431, f"request head over {limit:,} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head_deadline is None:
            self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        self._reading_head = False
        self._head_bytes = 0
        self._serving = True
        self.open_connections.busy(self)
        super().on_headers_complete()
        self._arm_body_deadline()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm_body_deadline()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm_body_deadline()

    def on_response_complete(self) -> None:
        self._serving = False
        self._reading_head = True
        self.open_connections.idle(self)
        super().on_response_complete()

    def evict(self) -> None:
        """Close this idle connection to make room for another."""
        self._disarm_head_deadline()
        self.transport.close()

    def _arm_body_deadline(self) -> None:
        self._disarm_body_deadline()
        self._body_deadline = self.loop.call_later(
            self.open_connections.limits.header_timeout_s, self._body_stalled
        )

    def _disarm_body_deadline(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_stalled(self) -> None:
        self._body_deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:
            # The app has not taken what came yet: the silence is the server's, not the client's.
            self._arm_body_deadline()
            return
        self.transport.close()  # the request under way sees the client gone

    def _arm_head_deadline(self) -> None:
        self._head_deadline = self.loop.call_later(
            self.open_connections.limits.header_timeout_s, self._head_timed_out
        )

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing():
            return
        if self._head_bytes:
            seconds = self.open_connections.limits.header_timeout_s
            self._refuse(408, f"request head not complete within {seconds:g} s")
        else:
            self.transport.close()  # nothing was asked: nothing to answer

    def _refuse(self, status: int, reason: str) -> None:
        self._disarm_head_deadline()
        if not self._serving:
            # Only between responses: a response under way would be cut by these bytes.
            phrase = {408: "Request Timeout", 431: "Request Header Fields Too Large"}[status]
            body = f"{reason}\n".encode()
            self.transport.write(
                f"HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\n"
                f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
                + body
            )
        self.transport.close()


def bounded_protocol(limits: ConnectionLimits) -> type[GuardedHttpProtocol]:
    """The protocol class for one server (uvicorn's `http` setting), with its own registry."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"open_connections": OpenConnections(limits)})


def connection_budget(max_connections: int, upstream_connections: int) -> tuple[int, int]:
    """How many connections to allow, and the listen backlog, within the open-file limit, beside the
    `upstream_connections` the pool to Chutes may open.

    The soft limit is raised as far as they need, where the hard limit allows (as Go does at start);
    below that, a quarter of what is left goes to the backlog and the rest to connections.
    """
    try:
        import resource
    except ImportError:  # Windows: no such limit to fit in
        return max_connections, BACKLOG
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + BACKLOG + upstream_connections + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if raised > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
                soft = raised
            except (ValueError, OSError):
                pass  # kept as it was: the budget below fits in it
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections, BACKLOG
    # Short of descriptors, a relayed call holds one client and one upstream connection: what is left
    # beside the fixed reserve is shared half and half, never all kept back for a pool that size.
    usable = soft - FD_RESERVE
    room = max(usable - min(upstream_connections, usable // 2), 2)
    backlog = max(1, min(BACKLOG, room // 4))
    allowed = max(1, min(max_connections, room - backlog))
    if allowed < max_connections:
        log.warning(
            "http.connections_limited",
            max_connections=allowed,
            asked=max_connections,
            open_file_limit=soft,
            detail=f"the open-file limit allows {allowed} connections; raise it (ulimit -n, or the "
            "container's nofile limit) to serve more",
        )
    return allowed, backlog


@contextmanager
def accept_errors_logged_sparingly(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """While serving: an accept that fails for want of descriptors or memory is logged at most once per
    `LOG_INTERVAL_S`, with the number held back, instead of once per queued connection."""
    previous = loop.get_exception_handler()
    every = Every()

    def handle(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in _OUT_OF_RESOURCES and "accept" in context["message"]:
            if (held := every.due()) is not None:
                log.error(
                    "http.accept_failed",
                    error=error.strerror,
                    held_back=held,
                    detail="new connections wait in the backlog; raise the open-file limit (ulimit -n) "
                    "or lower --max-connections",
                )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)
    try:
        yield
    finally:
        loop.set_exception_handler(previous)
