"""The shared pool's HTTP/1.1 (stock httpx2) at its edges, as real servers and proxies answer: framing,
interim responses, connections closed without notice, malformed or cut-off answers, keep-alive. Every
other client test runs through it too, on the simulator's chunked streams and JSON bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import anyio
import httpx2
import pytest
from client_support import hello, sim_settings
from raw_server import Handler, answering, serving
from sim_process import SimProcess

from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.chutes.http.pool import build_http_client

pytestmark = pytest.mark.anyio


def _one_answer_per_connection(body: bytes) -> Handler:
    """A server that answers one request per connection and then closes it, without `Connection: close`:
    what some proxies and load balancers do."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
        len(body),
        body,
    )
    return answering(answer)


async def test_connections_closed_without_notice_are_never_reused(sim: SimProcess, tmp_path: Path) -> None:
    body = b'{"data": [], "username": "ada", "user_id": "u1", "balance": 1.0}'
    async with serving(_one_answer_per_connection(body)) as (port, accepted):
        base = f"http://127.0.0.1:{port}"
        settings = sim_settings(sim, tmp_path, api_base=f"{base}/v1", management_base=base, max_retries=0)
        async with ChutesClient(settings) as client:
            for _ in range(20):
                assert await client.list_models_raw() == []
                assert (await client.me())["username"] == "ada"
    assert len(accepted) == 40


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    ],
    ids=["bare-lf-lines", "content-length-and-chunked"],
)
async def test_lenient_framing_that_servers_send_is_understood(
    sim: SimProcess, tmp_path: Path, answer: bytes
) -> None:
    async with (
        serving(answering(answer)) as (port, _),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        response = await http.get(f"http://127.0.0.1:{port}/")
    assert (response.status_code, response.content) == (200, b"ok")


async def test_keep_alive_serves_many_requests_on_one_connection(sim: SimProcess, tmp_path: Path) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with (
        serving(answering(*[ok] * 5)) as (port, accepted),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        bodies = [(await http.post(f"http://127.0.0.1:{port}/", content=b"x" * n)).content for n in range(5)]
    assert bodies == [b"ok"] * 5
    assert len(accepted) == 1


async def test_a_body_that_runs_to_the_connections_end(sim: SimProcess, tmp_path: Path) -> None:
    until_close = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"all of it" * 1000
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    async with (
        serving(answering(until_close)) as (port, accepted),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        first = await http.get(f"http://127.0.0.1:{port}/")
        async with serving(answering(ok)) as (second_port, _):
            await http.get(f"http://127.0.0.1:{second_port}/")
        again = await http.get(f"http://127.0.0.1:{port}/")
    assert first.content == b"all of it" * 1000
    assert again.content == b"all of it" * 1000
    assert len(accepted) == 2, "a connection whose body ended with it was reused"


async def test_interim_responses_are_skipped(sim: SimProcess, tmp_path: Path) -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-Final: yes\r\n\r\ndone"
    )
    async with (
        serving(answering(answer)) as (port, _),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        response = await http.post(f"http://127.0.0.1:{port}/", content=b"{}")
    assert (response.status_code, response.content) == (201, b"done")
    assert response.headers["x-final"] == "yes"
    assert "link" not in response.headers


async def test_a_response_cut_off_midway_is_a_protocol_error(sim: SimProcess, tmp_path: Path) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some"
    async with serving(answering(cut)) as (port, _), build_http_client(sim_settings(sim, tmp_path)) as http:
        with pytest.raises(httpx2.RemoteProtocolError, match="without sending complete message body"):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_a_chunked_response_cut_off_midway_is_a_protocol_error(sim: SimProcess, tmp_path: Path) -> None:
    cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    pieces: list[bytes] = []

    async def read_all(response: httpx2.Response) -> None:
        async for piece in response.aiter_raw():
            pieces.append(piece)

    async with (
        serving(answering(cut)) as (port, _),
        build_http_client(sim_settings(sim, tmp_path)) as http,
        http.stream("GET", f"http://127.0.0.1:{port}/") as response,
    ):
        with pytest.raises(httpx2.RemoteProtocolError):
            await read_all(response)
    assert pieces == [b"hello"], "what arrived before the cut is handed over"


@pytest.mark.parametrize(
    "answer",
    [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n", b""],
    ids=["garbage", "bad-length", "silence"],
)
async def test_a_malformed_or_missing_response_is_a_protocol_error(
    sim: SimProcess, tmp_path: Path, answer: bytes
) -> None:
    async with (
        serving(answering(answer)) as (port, _),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        with pytest.raises(httpx2.RemoteProtocolError):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_an_oversized_response_head_is_refused(sim: SimProcess, tmp_path: Path) -> None:
    huge = b"HTTP/1.1 200 OK\r\n" + b"X-Filler: " + b"a" * 200_000 + b"\r\n\r\n"
    async with serving(answering(huge)) as (port, _), build_http_client(sim_settings(sim, tmp_path)) as http:
        with pytest.raises(httpx2.RemoteProtocolError, match="Receive buffer too long"):
            await http.get(f"http://127.0.0.1:{port}/")


async def test_a_header_that_would_split_the_request_is_refused(sim: SimProcess, tmp_path: Path) -> None:
    received: list[bytes] = []
    closed = anyio.Event()

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read())
        closed.set()

    async with (
        serving(record) as (port, _),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        # Bounded: a request that did go out would wait for an answer this server never gives.
        with anyio.fail_after(5):
            with pytest.raises(httpx2.LocalProtocolError, match="Illegal header value"):
                await http.get(f"http://127.0.0.1:{port}/", headers={"X-Note": "a\r\nX-Injected: yes"})
            await closed.wait()  # the refused request's connection is closed at once
    assert received == [b""], "no byte of the request went out"


@pytest.mark.parametrize(
    "closing",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_a_connection_that_cannot_be_reused_is_not(
    sim: SimProcess, tmp_path: Path, closing: bytes
) -> None:
    async with (
        serving(answering(closing, closing)) as (port, accepted),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        for _ in range(2):
            assert (await http.get(f"http://127.0.0.1:{port}/")).content == b"ok"
    assert len(accepted) == 2


async def test_head_ends_at_the_head(sim: SimProcess, tmp_path: Path) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    async with serving(answering(head)) as (port, _), build_http_client(sim_settings(sim, tmp_path)) as http:
        response = await http.head(f"http://127.0.0.1:{port}/")
    assert (response.status_code, response.content) == (200, b"")
    assert response.headers["content-length"] == "1000"


async def test_a_streamed_request_body_goes_out_chunked(sim: SimProcess, tmp_path: Path) -> None:
    received: list[bytes] = []

    async def echo_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"transfer-encoding: chunked" in head.lower()
        while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) > 0:
            received.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readexactly(2)
        body = b"".join(received)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"one ", b"", b"two ", b"three"):
            yield piece

    async with serving(echo_chunked) as (port, _), build_http_client(sim_settings(sim, tmp_path)) as http:
        response = await http.post(f"http://127.0.0.1:{port}/", content=pieces())
    assert response.content == b"one two three"
    assert received == [b"one ", b"two ", b"three"]


_DEEP = b"[" * 100_000  # deeper than Python's JSON parser goes: RecursionError, not ValueError


def _answer(status: int, body: bytes, content_type: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        content_type,
        len(body),
        body,
    )


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (_answer(200, _DEEP), "upstream_error"),
        (_answer(500, _DEEP), "upstream_error"),
        (_answer(400, b'{"detail": ' + _DEEP + b"}"), "bad_request"),
        (_answer(200, b"data: " + _DEEP + b"\n\n", b"text/event-stream"), "upstream_error"),
    ],
    ids=["json-body", "error-body", "error-detail", "stream-event"],
)
async def test_json_nested_deeper_than_the_parser_goes_is_a_typed_error(
    sim: SimProcess, tmp_path: Path, answer: bytes, code: str
) -> None:
    async with serving(answering(answer)) as (port, _):
        base = f"http://127.0.0.1:{port}"
        settings = sim_settings(sim, tmp_path, api_base=f"{base}/v1", management_base=base, max_retries=0)
        async with ChutesClient(settings) as client:

            async def call() -> None:
                if b"event-stream" not in answer:
                    await client.me()
                    return
                async with aclosing(client.chat_stream(hello())) as events:
                    async for _ in events:
                        pass

            with pytest.raises(ChutesError) as caught:
                await call()
    assert caught.value.code == code
