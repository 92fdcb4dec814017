"""HTTP/1.1 for the shared pool's connections, with responses parsed by httptools instead of h11.

httpcore2 speaks HTTP/1.1 through h11, which parses in Python. For one streamed chat answer (its head
and a dozen SSE chunks), h11's parsing and its checks of the request take ~130 µs. httptools (llhttp,
Node's parser, already installed for uvicorn) parses the same bytes in ~3 µs. The connection below is
httpcore2's own HTTP/1.1 connection: its states, lock, keep-alive expiry, idle check and errors. Only
h11's part is replaced: the request is written as bytes, in one write with its body, and llhttp
parses the response. Hand-written on purpose, because neither library offers the other's half.

Scope: what the pool sends and receives. Requests have a known length or a chunked body. Responses
are framed by Content-Length, by chunked encoding or by the end of the connection. There are no
upgrades (101, CONNECT): this client never asks for one. A proxy's pool keeps httpcore2's
connections.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any

import httpcore2
import httptools
from httpcore2._async.connection import AsyncHTTPConnection
from httpcore2._async.http11 import AsyncHTTP11Connection, HTTPConnectionState
from httpcore2._async.interfaces import AsyncConnectionInterface
from httpcore2._utils import safe_async_iterate

# The most a response's status line and headers may take: h11's limit in httpcore2.
_MAX_HEAD_BYTES = 100 * 1024
_READ_BYTES = 64 * 1024
# RFC 9110's token for a header name, and a value without the bytes that would end the header early.
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(rb"[^\r\n\0]*")


class _Response:
    """llhttp's callbacks for one response: the head, then body pieces until the message is complete."""

    def __init__(self, *, head_only: bool) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.head_only = head_only  # the answer to HEAD: a head, whatever its Content-Length says
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.keep_alive = False
        self.body: list[bytes] = []
        self.complete = False
        self.overrun = False  # bytes after the end of the message: the connection cannot be reused

    def on_message_begin(self) -> None:
        self.overrun = self.overrun or self.complete

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # after the body: a chunked body's trailers, which are not kept
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if 100 <= self.parser.get_status_code() < 200:
            # An interim response (100 Continue, 103 Early Hints): the final one follows.
            self.reason, self.headers = b"", []
            return
        self.head_done = True
        # llhttp answers this from the head; once the message is complete it no longer knows.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = self.complete or self.head_only

    def on_body(self, body: bytes) -> None:
        if not self.head_only:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.head_done:
            self.complete = True

    def feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            raise httpcore2.RemoteProtocolError("the server switched protocols unasked") from None
        except httptools.HttpParserError as exc:
            raise httpcore2.RemoteProtocolError(f"malformed HTTP response: {exc}") from None

    def ends_with_connection(self) -> bool:
        """Whether the body runs until the server closes the connection (no length, not chunked)."""
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names


class HttptoolsHTTP11Connection(AsyncHTTP11Connection):
    """httpcore2's HTTP/1.1 connection, writing requests as bytes and parsing responses with llhttp."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = b""
        self._chunked = False
        self._close_asked = False
        self._request_sent = False
        self._response: _Response | None = None

    async def _send_request_headers(self, request: httpcore2.Request) -> None:
        """The request's head, kept to go out in one write with the body (`_send_request_body`)."""
        lines = [b"%s %s HTTP/1.1\r\n" % (request.method, request.url.target)]
        chunked = close = False
        for name, value in request.headers:
            if not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
                raise httpcore2.LocalProtocolError(
                    f"invalid header {name!r}: a name must be a token and no value may hold CR, LF or NUL"
                )
            lowered = name.lower()
            if lowered == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif lowered == b"connection":
                close = b"close" in value.lower()
            lines.append(b"%s: %s\r\n" % (name, value))
        lines.append(b"\r\n")
        self._head = b"".join(lines)
        self._chunked, self._close_asked, self._request_sent = chunked, close, False
        self._response = _Response(head_only=request.method == b"HEAD")

    async def _send_request_body(self, request: httpcore2.Request) -> None:
        timeout = request.extensions.get("timeout", {}).get("write")
        assert isinstance(request.stream, AsyncIterable)
        # Taken off the connection: the head carries the credential, which need not outlive the request.
        pending, self._head = self._head, b""
        async with safe_async_iterate(request.stream) as stream:
            async for chunk in stream:
                if not chunk:
                    continue
                piece = b"%x\r\n%s\r\n" % (len(chunk), chunk) if self._chunked else chunk
                await self._network_stream.write(pending + piece, timeout=timeout)
                pending = b""
        end = b"0\r\n\r\n" if self._chunked else b""
        if pending or end:
            await self._network_stream.write(pending + end, timeout=timeout)
        self._request_sent = True

    async def _receive_response_headers(
        self, request: httpcore2.Request
    ) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]], bytes]:
        timeout = request.extensions.get("timeout", {}).get("read")
        response = self._response
        assert response is not None, "set by _send_request_headers"
        received = 0
        while not response.head_done:
            data = await self._network_stream.read(_READ_BYTES, timeout=timeout)
            if not data:
                raise httpcore2.RemoteProtocolError("Server disconnected without sending a response.")
            received += len(data)
            response.feed(data)
            if not response.head_done and received > _MAX_HEAD_BYTES:
                raise httpcore2.RemoteProtocolError("the response's head is larger than 100 KiB")
        parser = response.parser
        version = b"HTTP/" + parser.get_http_version().encode("ascii")
        return version, parser.get_status_code(), response.reason, response.headers, b""

    async def _receive_response_body(self, request: httpcore2.Request) -> AsyncGenerator[bytes]:
        timeout = request.extensions.get("timeout", {}).get("read")
        response = self._response
        assert response is not None, "set by _send_request_headers"
        while True:
            if response.body:
                # Piece by piece, as h11 gives them: a chunk of a chunked body is one piece. A stream
                # that fails midway still hands over what came before the failing chunk.
                pieces, response.body = response.body, []
                for piece in pieces:
                    yield piece
            if response.complete:
                return
            data = await self._network_stream.read(_READ_BYTES, timeout=timeout)
            if data:
                response.feed(data)
            elif response.ends_with_connection():
                response.complete = True
            else:
                raise httpcore2.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                )

    async def _response_closed(self) -> None:
        async with self._state_lock:
            response = self._response
            reusable = (
                response is not None
                and self._request_sent
                and response.complete
                and not response.overrun
                and not response.head_only
                and not self._close_asked
                and response.keep_alive
            )
            self._response = None
            if reusable:
                self._state = HTTPConnectionState.IDLE
                if self._keepalive_expiry is not None:
                    self._expire_at = time.monotonic() + self._keepalive_expiry
            else:
                await self.aclose()


class _HttptoolsConnection(AsyncHTTPConnection):
    """httpcore2's connection to one origin, speaking HTTP/1.1 through `HttptoolsHTTP11Connection`."""

    async def handle_async_request(self, request: httpcore2.Request) -> httpcore2.Response:
        if self._connection is None:
            try:
                async with self._request_lock:
                    if self._connection is None:
                        stream = await self._connect(request)
                        self._connection = HttptoolsHTTP11Connection(
                            origin=self._origin, stream=stream, keepalive_expiry=self._keepalive_expiry
                        )
            except BaseException:
                self._connect_failed = True
                raise
        return await super().handle_async_request(request)


class HttptoolsConnectionPool(httpcore2.AsyncConnectionPool):
    """httpcore2's pool, its direct connections made as `_HttptoolsConnection`."""

    def create_connection(self, origin: httpcore2.Origin) -> AsyncConnectionInterface:
        if self._proxy is not None:
            return super().create_connection(origin)
        return _HttptoolsConnection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )
