"""The thin ASGI layer around the SDK's stateless streamable HTTP app: cancellation, session ids, and
answers a host can show.

The SDK serves each POST on its own (`stateless_http=True`, so any replica can answer any request).
That leaves a 2025-era cancel with nowhere to go: the client POSTs `notifications/cancelled` as a
request of its own, and the call it names goes on streaming (and billing) to its end. This layer
closes the gap without making the SDK stateful:

- It gives each 2025-era client a session id (`Mcp-Session-Id` on the `initialize` response; the
  2025 spec lets a server assign one and obliges the client to send it back), which the SDK, being
  stateless, ignores.
- Each running request is registered in `RunningCalls` under its caller (credentials and session id)
  and JSON-RPC id; a cancel the SDK accepted (202) cancels the call with that key, so a client can
  cancel only its own calls. The cancelled request's SSE stream then ends with no message: the spec
  gives a cancelled request no response, and a client that already forgot the id would report any
  answer as one for an unknown id.
- The 2026-07-28 era needs none of it: a client cancels by closing the request, which the SDK
  already turns into cancellation, as it does for any request a client drops.
- GET opens no stream: a stateless server never speaks outside a request's own response, so it
  answers 405, as the spec allows, instead of holding an idle connection open per client.
- A body over the limit gets a JSON-RPC error that says what the limit is and what to do, instead of
  the SDK's bare 413 page.
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import AsyncExitStack
from typing import Any

import anyio
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp.types import INVALID_REQUEST
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chutes_mcp.server.access_log import TOOL_CALL_SCOPE_KEY
from chutes_mcp.server.running_calls import RunningCalls, call_key

# Of a body over the limit, the most that is read to find its JSON-RPC id.
_HEAD_BYTES = 64 * 1024
# The id of a JSON-RPC message whose members before it are short strings ("jsonrpc", "method"), as
# most clients write it; an id that comes after the params (the TypeScript SDK's order) stays unread.
_LEADING_ID = re.compile(
    rb'^\s*\{(?:\s*"(?:jsonrpc|method)"\s*:\s*"[^"\\]*"\s*,)*\s*"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*[,}]'
)
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache, no-transform")]


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _json_response(status: int, body: dict[str, Any], *extra: tuple[bytes, bytes]) -> list[Message]:
    content = json.dumps(body, separators=(",", ":")).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *extra,
    ]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": content},
    ]


def _too_large_message(limit: int, size: int | None) -> str:
    got = f"{_mib(size)} ({size:,} bytes)" if size is not None else "more than that"
    return (
        f"Request body too large: this server accepts at most {_mib(limit)} ({limit:,} bytes) per "
        f"request, and this one is {got}. Images sent inline as data: URLs count in full, a third more "
        "than the image file: downscale or recompress them, send fewer per call, or pass an https:// "
        "URL that Chutes fetches itself. The server's operator can raise the limit with "
        "--max-body-bytes."
    )


def _leading_id(head: bytes) -> Any:
    match = _LEADING_ID.match(head)
    return json.loads(match.group(1)) if match else None


class CallRouting:
    """Wraps the SDK's app for the MCP endpoint at `path` (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, path: str, calls: RunningCalls, max_body_bytes: int) -> None:
        self.app = app
        self.path = path
        self.calls = calls
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        version = Headers(scope=scope).get(MCP_PROTOCOL_VERSION_HEADER)
        modern = version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS
        if scope["method"] == "GET" and not modern:
            error = {
                "jsonrpc": "2.0",
                "id": None,
                "error": {
                    "code": INVALID_REQUEST,
                    "message": "Method Not Allowed: this server sends messages only on the response "
                    "to each POST, so there is no stream to open with GET",
                },
            }
            for message in _json_response(405, error, (b"allow", b"POST")):
                await send(message)
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        await _Exchange(self, scope, receive, send, modern=modern).run()


class _Exchange:
    """One POST: what its body says, how its response is going, and whether a client cancelled it."""

    def __init__(
        self, layer: CallRouting, scope: Scope, receive: Receive, send: Send, *, modern: bool
    ) -> None:
        self.layer = layer
        self.scope = scope
        self.headers = Headers(scope=scope)
        self.session_id = self.headers.get(MCP_SESSION_ID_HEADER)
        self.downstream_receive = receive
        self.downstream_send = send
        self.modern = modern
        self.chunks: list[bytes] = []
        self.received = 0
        self.body_complete = False
        self.message: dict[str, Any] | None = None
        self.started = False
        self.finished = False
        self.refused = False
        self.call = anyio.CancelScope()
        self.registrations = AsyncExitStack()

    @property
    def log_fields(self) -> dict[str, Any] | None:
        fields = self.scope.get(TOOL_CALL_SCOPE_KEY)
        return fields if isinstance(fields, dict) else None

    async def run(self) -> None:
        async with self.registrations:
            with self.call:
                await self.layer.app(self.scope, self.receive, self.send)
        if self.refused:
            await self.refuse_oversized()
        elif self.call.cancelled_caught:
            await self.end_cancelled()

    # -- the request -----------------------------------------------------------------------------

    async def receive(self) -> Message:
        message = await self.downstream_receive()
        if message["type"] == "http.request" and not self.body_complete:
            chunk = message.get("body", b"")
            self.received += len(chunk)
            within_limit = self.received <= self.layer.max_body_bytes
            before = self.received - len(chunk)
            if within_limit:
                self.chunks.append(chunk)
            elif before <= self.layer.max_body_bytes:
                # The chunk that crosses the limit, after all the body so far: the SDK refuses the
                # body, and its head is all that is needed, to find the id.
                self.chunks.append(chunk[: max(_HEAD_BYTES - before, 0)])
            self.body_complete = not message.get("more_body", False)
            if self.body_complete and within_limit:
                await self.read(b"".join(self.chunks))
                self.chunks.clear()
        elif (
            message["type"] == "http.disconnect"
            and not self.finished
            and (fields := self.log_fields) is not None
            and "outcome" not in fields
        ):
            # The SDK cancels a request whose client went away; the log says why it ended.
            fields["outcome"] = "disconnected"
        return message

    async def read(self, body: bytes) -> None:
        if self.modern:
            return
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            return  # the SDK answers with its parse error
        if not isinstance(message, dict):
            return
        self.message = message
        method = message.get("method")
        if "id" not in message or not isinstance(method, str) or method == "initialize":
            return
        key = call_key(self.headers, self.session_id, message["id"])
        if key is not None:
            await self.registrations.enter_async_context(self.layer.calls.running(key, self.cancelled))

    def cancelled(self) -> None:
        if self.finished:
            return  # answered already: the cancel crossed the answer on its way
        if (fields := self.log_fields) is not None:
            fields["outcome"] = "cancelled"
        self.call.cancel()

    # -- the response ----------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            status = int(message["status"])
            if status == 413:
                # The SDK's bare page; `refuse_oversized` answers instead once the app returns.
                self.refused = True
                return
            if status == 202:
                await self.route_cancel()
            elif status == 200 and self.is_initialize():
                message = self.with_session_id(message)
            self.started = True
        elif message["type"] == "http.response.body":
            if self.refused:
                return
            self.finished = not message.get("more_body", False)
        await self.downstream_send(message)

    def is_initialize(self) -> bool:
        return self.message is not None and self.message.get("method") == "initialize"

    def with_session_id(self, start: Message) -> Message:
        headers = list(start.get("headers", []))
        if any(name.lower() == MCP_SESSION_ID_HEADER.encode() for name, _ in headers):
            return start
        headers.append((MCP_SESSION_ID_HEADER.encode(), uuid.uuid4().hex.encode()))
        return {**start, "headers": headers}

    async def route_cancel(self) -> None:
        """Act on a `notifications/cancelled` the SDK accepted: it passed auth, Host and Origin checks."""
        message = self.message
        if message is None or message.get("method") != "notifications/cancelled":
            return
        params = message.get("params")
        request_id = params.get("requestId") if isinstance(params, dict) else None
        key = call_key(self.headers, self.session_id, request_id)
        found = key is not None and await self.layer.calls.cancel(key)
        if (fields := self.log_fields) is not None:
            fields.update(cancelled_request=str(request_id)[:64], cancel_found=found)

    async def end_cancelled(self) -> None:
        """End a cancelled request's response without a message (see the module's docstring)."""
        if self.finished:
            return
        if not self.started:
            await self.downstream_send(
                {"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS}
            )
        await self.downstream_send({"type": "http.response.body", "body": b"", "more_body": False})

    async def refuse_oversized(self) -> None:
        declared = self.headers.get("content-length")
        size = int(declared) if declared is not None and declared.isdigit() else None
        head = b"".join(self.chunks)
        # A declared length over the limit is refused before any of the body is read: read its head.
        while self.received == 0 and not self.body_complete and len(head) < _HEAD_BYTES:
            message = await self.downstream_receive()
            if message["type"] != "http.request":
                return  # the client went away: nobody to answer
            head += message.get("body", b"")
            self.body_complete = not message.get("more_body", False)
        error = {
            "jsonrpc": "2.0",
            "id": _leading_id(head),
            "error": {
                "code": INVALID_REQUEST,
                "message": _too_large_message(self.layer.max_body_bytes, size),
                "data": {"max_body_bytes": self.layer.max_body_bytes},
            },
        }
        for message in _json_response(413, error, (b"connection", b"close")):
            await self.downstream_send(message)
