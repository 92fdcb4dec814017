"""httpcore2's network layer on asyncio's own transports and protocols, for the shared pool.

httpcore2 reaches the network through anyio, and every read and write of the body pays for it: a
`fail_after` scope (which walks the task's cancel scopes, deeper inside an MCP request than outside),
an event-loop turn even when the data is already buffered, and two `epoll_ctl` calls to pause and
resume reading. Checking an idle connection before reusing it builds anyio's whole table of socket
attributes (a `getpeername` call included) and polls the socket. Here a protocol buffers what
arrives, a read returns buffered data at once, a timeout is one timer armed only when a read has to
wait, and the idle check asks the protocol. It costs 12% fewer instructions per streamed chat
request than httpcore2's anyio backend (see benchmarks/PROFILE.md); behaviour is the same, errors
included (httpcore2's own `ReadTimeout`, `ReadError`, `ConnectError`, ...).

asyncio only: the server and the CLI run on asyncio, and anyio's cancel scopes cancel these awaits
like any other.
"""

# ruff: noqa: ASYNC109 (httpcore2's interface passes each operation its timeout as an argument)

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore2

# Reading pauses while this much is buffered and unread; a fast upstream cannot fill the memory.
_HIGH_WATER_BYTES = 1 << 20
# httpcore2's names for what asyncio's transports call these.
_TRANSPORT_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}


class _Protocol(asyncio.Protocol):
    transport: asyncio.Transport
    """The connection's transport; after a TLS upgrade, the TLS one."""

    def __init__(self) -> None:
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.error: Exception | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.reader: asyncio.Future[None] | None = None
        self.writer: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > _HIGH_WATER_BYTES:
            self.transport.pause_reading()
            self.reading_paused = True
        _wake(self.reader)

    def eof_received(self) -> bool:
        self.eof = True
        _wake(self.reader)
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        _wake(self.reader)
        _wake(self.writer)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        _wake(self.writer)

    def take(self, max_bytes: int) -> bytes:
        data = self.chunks.popleft()
        if len(data) > max_bytes:
            self.chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        self.buffered -= len(data)
        if self.reading_paused and self.buffered <= _HIGH_WATER_BYTES // 2:
            self.transport.resume_reading()
            self.reading_paused = False
        return data


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _expire(waiter: asyncio.Future[None], error: type[Exception]) -> None:
    if not waiter.done():
        waiter.set_exception(error("timed out"))


async def _wait(waiter: asyncio.Future[None], limit_s: float | None, error: type[Exception]) -> None:
    if limit_s is None:
        await waiter
        return
    timer = asyncio.get_running_loop().call_later(limit_s, _expire, waiter, error)
    try:
        await waiter
    finally:
        timer.cancel()


class AsyncioStream(httpcore2.AsyncNetworkStream):
    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof:
            protocol.reader = asyncio.get_running_loop().create_future()
            try:
                await _wait(protocol.reader, timeout, httpcore2.ReadTimeout)
            finally:
                protocol.reader = None
        if protocol.chunks:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise httpcore2.ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.transport.is_closing():
            raise httpcore2.WriteError(str(protocol.error or "the connection is closed"))
        protocol.transport.write(buffer)
        if protocol.writing_paused:
            protocol.writer = asyncio.get_running_loop().create_future()
            try:
                await _wait(protocol.writer, timeout, httpcore2.WriteTimeout)
            finally:
                protocol.writer = None
            if protocol.error is not None:
                raise httpcore2.WriteError(str(protocol.error))

    async def aclose(self) -> None:
        self._protocol.transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        protocol = self._protocol
        try:
            # anyio's scope, not asyncio's timeout: it cooperates with the caller's cancel scopes.
            with anyio.fail_after(timeout):
                transport = await loop.start_tls(
                    protocol.transport, protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            protocol.transport.close()
            raise httpcore2.ConnectTimeout("TLS handshake timed out") from None
        except (OSError, ssl.SSLError) as exc:
            protocol.transport.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        if transport is None:  # the connection closed during the handshake
            raise httpcore2.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        protocol.transport = transport
        return AsyncioStream(protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of an idle connection before reuse: anything that arrived (data, or the server's
            # close) means it must not be reused. The loop has run since the last response, so a close
            # that arrived meanwhile has been seen.
            return bool(self._protocol.chunks) or self._protocol.eof
        key = _TRANSPORT_INFO.get(info)
        return None if key is None else self._protocol.transport.get_extra_info(key)


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            with anyio.fail_after(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=None if local_address is None else (local_address, 0)
                )
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
