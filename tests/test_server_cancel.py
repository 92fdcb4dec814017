"""Cancelling a call hangs up on Chutes at once, on every transport and protocol era the server speaks.

The simulator counts streams its client closed before the end (`streams.closed_early`): that is the
upstream generation stopping, and its connection released. The eras: 2026-07-28 (the Python client's
default; a client cancels by closing the request), 2025-11-25 (its legacy mode) and 2025-06-18 (raw
JSON-RPC: the client cannot pin it), where a client cancels with `notifications/cancelled`, over
stateless HTTP a POST of its own. Over stdio, 2025-11-25 and 2026-07-28 are
`test_server_chat.py::test_cancelling_closes_the_upstream_stream`.
"""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
import pytest
from anyio.abc import Process
from http_support import HttpServer, http_server
from jsonrpc_support import cancelled, handshake, initialize, notification, request
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import TextResourceContents
from mcp_support import ERAS, server_env
from sim_process import SimProcess

pytestmark = pytest.mark.anyio

PLAIN = "unsloth/Mistral-Nemo-Instruct-2407"  # no reasoning: every token is answer text
CHAT = {"name": "chat", "arguments": {"prompt": "hello", "model": PLAIN}, "_meta": {"progressToken": "p"}}
HANDSHAKE_ERAS = ("2025-06-18", "2025-11-25")
UPSTREAM_CLOSE_S = 1.0
Mode = Literal["auto", "legacy"]


def slow_streams(sim: SimProcess) -> None:
    """Every answer has at least 20 tokens: at 5 a second, a stream runs for 4 s or more."""
    httpx2.patch(f"{sim.url}/_sim/config", json={"tokens_per_s": 5}).raise_for_status()


async def upstream_closed_early(sim: SimProcess, since: float) -> None:
    """Wait until the simulator saw a stream closed early; fail when that took longer than 1 s."""
    while sim.stats()["streams"]["closed_early"] < 1:
        assert time.monotonic() - since < UPSTREAM_CLOSE_S, f"the upstream stream stayed open: {sim.stats()}"
        await anyio.sleep(0.01)
    streams = sim.stats()["streams"]
    assert (streams["open"], streams["completed"]) == (0, 0)


def limiter_of(status_text: str) -> dict[str, Any]:
    limiter: dict[str, Any] = json.loads(status_text)["limiter"]
    return limiter


# -- the official client, over HTTP (stdio: test_server_chat.py) -----------------------------------


@asynccontextmanager
async def http_client(server: HttpServer, mode: Mode) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(timeout=30) as http,
        Client(streamable_http_client(server.url, http_client=http), mode=mode) as client,
    ):
        yield client


async def read_status(client: Client) -> dict[str, Any]:
    content = (await client.read_resource("chutes://status")).contents[0]
    assert isinstance(content, TextResourceContents)
    return limiter_of(content.text)


@pytest.mark.parametrize("mode", ERAS)
async def test_cancelling_over_http_closes_the_upstream_stream(
    sim: SimProcess, tmp_path: Path, mode: Mode
) -> None:
    slow_streams(sim)
    first_progress = anyio.Event()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        first_progress.set()

    with http_server(sim, tmp_path) as server:
        async with http_client(server, mode) as client:
            call = functools.partial(
                client.call_tool, "chat", CHAT["arguments"], progress_callback=on_progress
            )
            with anyio.fail_after(30):
                async with anyio.create_task_group() as group:
                    group.start_soon(call)
                    await first_progress.wait()
                    assert sim.stats()["streams"]["open"] == 1
                    group.cancel_scope.cancel()
            await upstream_closed_early(sim, time.monotonic())
            # The client goes on: the cancel left nothing behind on either side.
            answer = await client.call_tool("list_models", {"limit": 1})
            limiter = await read_status(client)
    assert not answer.is_error
    assert limiter["waiting"] == 0


@pytest.mark.parametrize("mode", ERAS)
async def test_a_call_cancelled_in_the_rate_limiters_line_holds_nothing(
    sim: SimProcess, tmp_path: Path, mode: Mode
) -> None:
    # One request every 10 s, burst 1: the catalog fetch at start takes the burst, so a chat waits (as
    # may the embedding directory's first fetch, in the same line).
    env = {"CHUTES_RATE_LIMIT_RPM": "6", "CHUTES_RATE_LIMIT_BURST": "1"}
    with http_server(sim, tmp_path, **env) as server:
        async with http_client(server, mode) as client:
            with anyio.fail_after(30):
                before = await read_status(client)
                async with anyio.create_task_group() as group:
                    group.start_soon(functools.partial(client.call_tool, "chat", CHAT["arguments"]))
                    while (await read_status(client))["waiting"] <= before["waiting"]:  # noqa: ASYNC110 (another process's state)
                        await anyio.sleep(0.05)
                    group.cancel_scope.cancel()
                while (after := await read_status(client))["abandoned"] == before["abandoned"]:  # noqa: ASYNC110 (another process's state)
                    await anyio.sleep(0.05)
    assert after["abandoned"] == before["abandoned"] + 1
    assert after["waiting"] <= before["waiting"]  # the line is as it was before the chat joined
    assert after["acquired"] == before["acquired"]  # it took no slot: nothing booked ahead for it
    assert "chat" not in sim.stats()["requests"]  # it never reached Chutes


# -- raw JSON-RPC over HTTP: the 2025 eras, as any client speaks them --------------------------------


async def sse_messages(lines: AsyncIterator[str], until: str | None = None) -> list[dict[str, Any]]:
    """The JSON-RPC messages of an SSE response, to its end or up to the first of method `until`."""
    messages = []
    async for line in lines:
        if line.startswith("data: "):
            messages.append(json.loads(line.removeprefix("data: ")))
            if until is not None and messages[-1].get("method") == until:
                break
    return messages


@pytest.mark.parametrize("version", HANDSHAKE_ERAS)
async def test_a_cancel_posted_on_its_own_stops_the_call_and_gets_no_answer(
    sim: SimProcess, tmp_path: Path, version: str
) -> None:
    slow_streams(sim)
    with http_server(sim, tmp_path) as server:
        async with httpx2.AsyncClient(timeout=30) as http, handshake(http, server.url, version) as headers:
            with anyio.fail_after(30):
                async with http.stream(
                    "POST", server.url, json=request(2, "tools/call", CHAT), headers=headers
                ) as call:
                    lines = call.aiter_lines()
                    before = await sse_messages(lines, until="notifications/progress")
                    cancel = await http.post(server.url, json=cancelled(2), headers=headers)
                    cancelled_at = time.monotonic()
                    after = await sse_messages(lines)  # the stream ends
            await upstream_closed_early(sim, cancelled_at)
            status = await http.post(
                server.url, json=request(3, "resources/read", {"uri": "chutes://status"}), headers=headers
            )
    assert call.status_code == 200
    assert call.headers["content-type"].startswith("text/event-stream")
    assert cancel.status_code == 202
    # No response for the cancelled request: the spec gives it none, and a client that already
    # forgot the id would report one as an answer to an unknown request.
    assert [m.get("method") for m in before + after] == ["notifications/progress"] * len(before + after)
    (read,) = [
        json.loads(line.removeprefix("data: "))
        for line in status.text.splitlines()
        if line.startswith("data: ")
    ]
    assert limiter_of(read["result"]["contents"][0]["text"])["waiting"] == 0


async def test_one_client_cannot_cancel_another_clients_call(sim: SimProcess, tmp_path: Path) -> None:
    slow_streams(sim)
    with http_server(sim, tmp_path) as server:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            handshake(http, server.url, "2025-11-25") as owner,
            handshake(http, server.url, "2025-11-25") as other,
        ):
            assert owner["mcp-session-id"] != other["mcp-session-id"]
            anonymous = {key: value for key, value in other.items() if key != "mcp-session-id"}
            with anyio.fail_after(30):
                async with http.stream(
                    "POST", server.url, json=request(2, "tools/call", CHAT), headers=owner
                ) as call:
                    lines = call.aiter_lines()
                    await sse_messages(lines, until="notifications/progress")
                    for stranger in (other, anonymous):
                        refused = await http.post(server.url, json=cancelled(2), headers=stranger)
                        assert refused.status_code == 202  # a notification gets no answer either way
                    # Progress keeps coming: the call still runs.
                    await sse_messages(lines, until="notifications/progress")
                    streams = sim.stats()["streams"]
                    assert (streams["open"], streams["closed_early"]) == (1, 0)
                    await http.post(server.url, json=cancelled(2), headers=owner)
                    cancelled_at = time.monotonic()
                    await sse_messages(lines)
            await upstream_closed_early(sim, cancelled_at)


@pytest.mark.parametrize("version", HANDSHAKE_ERAS)
async def test_dropping_the_request_closes_the_upstream_stream(
    sim: SimProcess, tmp_path: Path, version: str
) -> None:
    """A client that closes its socket mid-answer, with no cancel message: the answer has no reader."""
    slow_streams(sim)
    with http_server(sim, tmp_path) as server:
        url = httpx2.URL(server.url)
        async with httpx2.AsyncClient(timeout=30) as http, handshake(http, server.url, version) as headers:
            body = json.dumps(request(2, "tools/call", CHAT)).encode()
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            reader, writer = await asyncio.open_connection(url.host, url.port)
            try:
                writer.write(
                    f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc.decode()}\r\n{head}"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                received = b""
                with anyio.fail_after(30):
                    while b"notifications/progress" not in received:
                        chunk = await reader.read(65536)
                        assert chunk, f"the server closed the stream first: {received!r}"
                        received += chunk
            finally:
                writer.close()
            dropped_at = time.monotonic()
            await upstream_closed_early(sim, dropped_at)
    assert received.startswith(b"HTTP/1.1 200")


async def test_a_call_dropped_before_its_answer_began_is_logged_as_the_clients_doing(
    sim: SimProcess, tmp_path: Path
) -> None:
    """A 2026-07-28 client that asked for no progress hears nothing before the answer, and cancels by
    closing the request: nothing went out, so the access log has no status the server sent. It writes
    nginx's 499 (client closed request), not a 500 that would count as a server error."""
    slow_streams(sim)
    with http_server(sim, tmp_path, CHUTES_LOG_FORMAT="json") as server:
        async with (
            httpx2.AsyncClient(timeout=30, headers={"x-request-id": "dropped-early"}) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
        ):
            with anyio.move_on_after(1):
                await client.call_tool("chat", CHAT["arguments"])
            await upstream_closed_early(sim, time.monotonic())
            with anyio.fail_after(10):
                while '"outcome"' not in "".join(server.log_lines):  # noqa: ASYNC110 (another process's pipe)
                    await anyio.sleep(0.05)
    (line,) = [json.loads(line) for line in server.log_lines if '"outcome"' in line]
    assert (line["request_id"], line["status"], line["outcome"]) == ("dropped-early", 499, "disconnected")


async def test_get_opens_no_stream(sim: SimProcess, tmp_path: Path) -> None:
    with http_server(sim, tmp_path) as server:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            handshake(http, server.url, "2025-11-25") as headers,
        ):
            with anyio.fail_after(30):  # an idle stream would never end
                stream = await http.get(server.url, headers={**headers, "accept": "text/event-stream"})
    assert stream.status_code == 405
    assert stream.headers["allow"] == "POST"
    assert stream.json()["error"]["message"].startswith("Method Not Allowed")


# -- raw JSON-RPC over stdio: 2025-06-18 (2025-11-25 and 2026-07-28: test_server_chat.py) -------------


class StdioPeer:
    def __init__(self, process: Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.process = process
        self.stdin = process.stdin
        self.buffer = b""
        self.stdout = process.stdout

    async def send(self, message: dict[str, Any]) -> None:
        await self.stdin.send(json.dumps(message).encode() + b"\n")

    async def receive(self) -> dict[str, Any]:
        while b"\n" not in self.buffer:
            self.buffer += await self.stdout.receive()
        line, self.buffer = self.buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    async def until(self, predicate: Any) -> list[dict[str, Any]]:
        """Every message up to and including the first that `predicate` accepts."""
        seen = []
        while not seen or not predicate(seen[-1]):
            seen.append(await self.receive())
        return seen


async def test_a_2025_06_18_cancel_over_stdio_closes_the_upstream_stream(
    sim: SimProcess, tmp_path: Path
) -> None:
    slow_streams(sim)
    command = [sys.executable, "-m", "chutes_mcp", "serve"]
    async with await anyio.open_process(
        command, env=server_env(sim, tmp_path), stderr=subprocess.DEVNULL
    ) as process:
        peer = StdioPeer(process)
        with anyio.fail_after(30):
            await peer.send(initialize("2025-06-18"))
            (ready,) = await peer.until(lambda m: m.get("id") == 1)
            await peer.send(notification("notifications/initialized"))
            await peer.send(request(2, "tools/call", CHAT))
            before = await peer.until(lambda m: m.get("method") == "notifications/progress")
            await peer.send(cancelled(2))
            cancelled_at = time.monotonic()
            await upstream_closed_early(sim, cancelled_at)
            await peer.send(request(3, "resources/read", {"uri": "chutes://status"}))
            after = await peer.until(lambda m: m.get("id") == 3)
            await peer.stdin.aclose()
    assert ready["result"]["protocolVersion"] == "2025-06-18"
    assert all(message.get("id") != 2 for message in before + after)  # no answer to the cancelled call
    assert limiter_of(after[-1]["result"]["contents"][0]["text"])["waiting"] == 0
