"""The ramp's load generator, a process of its own: `python -m benchmarks.load` reads a plan (JSON) on
stdin, holds `in_flight` calls at once until the plan's end, and writes what each call did (JSON) on
stdout.

Each of the `in_flight` workers keeps one kept-alive HTTP/1.1 connection, as a host keeps one per
session, and sends its next call the moment the last one ends. The HTTP is written by hand on asyncio's
protocol API: a call costs the generator a request write and a few reads, so on a machine it shares
with the server and the simulator it takes as little CPU as a client can. Two kinds of call:

- `mcp`: a `chat` tool call over streamable HTTP in the 2025-11-25 era, stateless (no session), with a
  progress token as hosts that show progress send it; the answer is SSE, the call succeeds when its last
  event is a result that is not a tool error.
- `chutes`: the same chat as a streamed request straight to the simulator's chat completions, the
  floor: what the simulator alone can serve on this machine; it succeeds on `data: [DONE]`.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

CALL_TIMEOUT_S = 120.0
SAMPLE_BYTES = 600
_HEAD_END = b"\r\n\r\n"


class CallFailed(Exception):
    """A call that did not end in a good answer; the message is its kind, e.g. `http 503`, and `body`
    the end of what came back, to see why."""

    def __init__(self, kind: str, body: bytes = b"") -> None:
        super().__init__(kind)
        self.body = body[-SAMPLE_BYTES:].decode(errors="replace")


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    headers: bytes

    @classmethod
    def of(cls, url: str, extra_headers: dict[str, str]) -> Target:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        lines = [
            f"Host: {parts.netloc}",
            "Content-Type: application/json",
            *(f"{name}: {value}" for name, value in extra_headers.items()),
        ]
        return cls(host, port, parts.path or "/", "".join(line + "\r\n" for line in lines).encode())

    def request(self, body: bytes) -> bytes:
        return (
            f"POST {self.path} HTTP/1.1\r\n".encode()
            + self.headers
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


class Response(asyncio.Protocol):
    """One kept-alive connection that reads one HTTP/1.1 response at a time: the status, then a body of
    `Content-Length` bytes or in chunks, whole, into `body`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._done: asyncio.Future[tuple[int, bytes]] | None = None
        self._status = 0
        self._length: int | None = None
        self._chunked = False
        self._body = bytearray()
        self._in_head = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._done is not None and not self._done.done():
            self._done.set_exception(CallFailed("connection lost"))

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self._done = asyncio.get_running_loop().create_future()
        self._in_head, self._body, self._length, self._chunked = True, bytearray(), None, False
        self.transport.write(request)
        return self._done

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._in_head:
            end = self._buffer.find(_HEAD_END)
            if end < 0:
                return
            self._head(bytes(self._buffer[:end]))
            del self._buffer[: end + len(_HEAD_END)]
        if self._chunked:
            self._chunks()
        elif self._length is not None and len(self._buffer) >= self._length:
            self._body += self._buffer[: self._length]
            del self._buffer[: self._length]
            self._finish()

    def _head(self, head: bytes) -> None:
        self._in_head = False
        status_line, *header_lines = head.split(b"\r\n")
        self._status = int(status_line.split()[1])
        for line in header_lines:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                self._length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self._chunked = True
        if not self._chunked and self._length is None:
            self._length = 0

    def _chunks(self) -> None:
        while True:
            line_end = self._buffer.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(self._buffer[:line_end]).split(b";")[0], 16)
            if size == 0:
                if self._buffer.find(b"\r\n", line_end + 2) < 0:
                    return
                del self._buffer[: line_end + 4]
                self._finish()
                return
            if len(self._buffer) < line_end + 2 + size + 2:
                return
            self._body += self._buffer[line_end + 2 : line_end + 2 + size]
            del self._buffer[: line_end + 2 + size + 2]

    def _finish(self) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result((self._status, bytes(self._body)))


def mcp_outcome(body: bytes) -> None:
    """The last SSE event (or the JSON body) must be a result, and not a tool error."""
    text = body.decode(errors="replace")
    # The last event's data line; SSE comments (`: ping`, sent on long streams) may follow it.
    last = text.rsplit("data: ", 1)[-1].split("\n", 1)[0].strip() if "data: " in text else text
    try:
        message = json.loads(last)
    except ValueError:
        raise CallFailed("unreadable answer", body) from None
    if "error" in message:
        raise CallFailed(f"json-rpc {message['error'].get('code')}", body)
    if message.get("result", {}).get("isError"):
        raise CallFailed("tool error", body)


def chutes_outcome(body: bytes) -> None:
    if not body.rstrip().endswith(b"data: [DONE]"):
        raise CallFailed("stream without [DONE]", body)


@dataclass
class Plan:
    kind: str
    url: str
    in_flight: int
    model: str
    start_ns: int
    stop_ns: int
    """No call starts after this; the calls under way finish."""
    headers: dict[str, str]
    progress: bool = True
    """`mcp`: ask for progress notifications, as hosts that show them do."""

    def body(self, number: int) -> bytes:
        if self.kind == "mcp":
            params: dict[str, Any] = {"name": "chat", "arguments": {"prompt": "ramp", "model": self.model}}
            if self.progress:
                params["_meta"] = {"progressToken": number}
            message = {"jsonrpc": "2.0", "id": number, "method": "tools/call", "params": params}
        else:
            message = {
                "model": self.model,
                "messages": [{"role": "user", "content": "ramp"}],
                "stream": True,
            }
        return json.dumps(message, separators=(",", ":")).encode()


async def _worker(
    plan: Plan, target: Target, first: int, records: list[list[Any]], samples: dict[str, str]
) -> None:
    loop = asyncio.get_running_loop()
    connection: Response | None = None
    outcome = mcp_outcome if plan.kind == "mcp" else chutes_outcome
    number = first
    while time.monotonic_ns() < plan.stop_ns:
        started = time.monotonic_ns()
        error = ""
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                if connection is None or connection.closed:
                    _, connection = await loop.create_connection(Response, target.host, target.port)
                status, body = await connection.send(target.request(plan.body(number)))
            if status != 200:
                raise CallFailed(f"http {status}", body)
            outcome(body)
        except (CallFailed, OSError, TimeoutError) as exc:
            error = str(exc) if isinstance(exc, CallFailed) else type(exc).__name__
            if isinstance(exc, CallFailed):
                samples.setdefault(error, exc.body)
            if connection is not None and connection.transport is not None:
                connection.transport.close()
            connection = None
        records.append([started, time.monotonic_ns(), error])
        number += plan.in_flight
    if connection is not None and connection.transport is not None:
        connection.transport.close()


async def run(plan: Plan) -> dict[str, Any]:
    target = Target.of(plan.url, plan.headers)
    records: list[list[Any]] = []
    samples: dict[str, str] = {}
    delay = (plan.start_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    # Workers start spread over one second, as users arrive, not as one burst at one instant.
    async with asyncio.TaskGroup() as group:
        for index in range(plan.in_flight):
            group.create_task(
                _later(index / plan.in_flight, _worker(plan, target, index + 1, records, samples))
            )
    return {
        "records": records,
        "error_samples": samples,
        "cpu_s": time.process_time() - cpu_before,
        "wall_s": time.monotonic() - wall_before,
    }


async def _later(delay_s: float, work: Any) -> None:
    await asyncio.sleep(delay_s)
    await work


def main() -> None:
    plan = Plan(**json.load(sys.stdin))
    json.dump(asyncio.run(run(plan)), sys.stdout)


if __name__ == "__main__":
    main()
