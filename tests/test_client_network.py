"""The shared pool's network layer at its edges: TLS, timeouts, refused
connections, large bodies. Every other client test runs through it over plain HTTP as well."""

from __future__ import annotations

import asyncio
import socket
import ssl
from contextlib import aclosing
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
import trustme
from client_support import hello, sim_settings
from raw_server import forwarding_to, serving
from sim_process import SimProcess

from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.chutes.http.pool import build_http_client
from chutes_mcp.chutes.types import TextDelta

pytestmark = pytest.mark.anyio


async def test_https_streams_chat_over_one_kept_alive_tls_connection(
    sim: SimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with serving(forwarding_to(sim.url), tls=server_tls) as (port, accepted):
        base = f"https://127.0.0.1:{port}"
        settings = sim_settings(sim, tmp_path, api_base=f"{base}/v1", management_base=f"{base}/api")
        async with ChutesClient(settings) as client:
            answers = []
            for _ in range(3):
                async with aclosing(client.chat_stream(hello(max_tokens=8))) as events:
                    answers.append("".join([e.text async for e in events if isinstance(e, TextDelta)]))
            me = await client.me()
    assert all(answers), answers
    assert "username" in me
    assert len(accepted) == 1, "the TLS connection was not reused"


async def chat_failure(sim: SimProcess, tmp_path: Path, api_base: str) -> ChutesError:
    """The error of one chat call to `api_base`, tried once."""
    settings = sim_settings(sim, tmp_path, api_base=api_base, max_retries=0)
    async with ChutesClient(settings) as client:
        with pytest.raises(ChutesError) as caught:
            await client.chat(hello(max_tokens=4))
    return caught.value


async def test_an_untrusted_certificate_is_refused(sim: SimProcess, tmp_path: Path) -> None:
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(server_tls)
    async with serving(forwarding_to(sim.url), tls=server_tls) as (port, _):
        error = await chat_failure(sim, tmp_path, f"https://127.0.0.1:{port}/v1")
    assert error.code == "network"
    assert "certificate not trusted" in error.message
    assert "SSL_CERT_FILE" in error.hint
    assert error.retryable is False, "a certificate that is not trusted will not be trusted on retry"


@pytest.mark.parametrize(
    ("issued_for", "host"),
    [("chutes.example", "127.0.0.1"), ("127.0.0.1", "localhost")],
    ids=["ip-address", "host-name"],
)
async def test_a_certificate_for_another_name_says_the_name_does_not_match(
    sim: SimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, issued_for: str, host: str
) -> None:
    # A trusted CA (SSL_CERT_FILE is already right): trusting more would not help, the URL's host would.
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(issued_for).configure_cert(server_tls)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with serving(forwarding_to(sim.url), tls=server_tls) as (port, _):
        error = await chat_failure(sim, tmp_path, f"https://{host}:{port}/v1")
    assert error.code == "network"
    assert f"the certificate is not for {host}" in error.message, error.message
    assert "certificate not trusted" not in error.message
    assert "SSL_CERT_FILE" not in error.hint
    assert "base URL" in error.hint
    assert error.retryable is False


async def test_https_to_a_plain_http_port_says_the_tls_handshake_failed(
    sim: SimProcess, tmp_path: Path
) -> None:
    plain = urlsplit(sim.url)
    error = await chat_failure(sim, tmp_path, f"https://{plain.hostname}:{plain.port}/v1")
    assert error.code == "network"
    assert "TLS handshake failed" in error.message
    assert "scheme and port" in error.hint
    assert error.retryable is False


async def test_a_server_that_never_answers_is_a_read_timeout(sim: SimProcess, tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await anyio.sleep(30)

    async with serving(silent) as (port, _), build_http_client(sim_settings(sim, tmp_path)) as http:
        started = anyio.current_time()
        with pytest.raises(httpx2.ReadTimeout):
            await http.get(f"http://127.0.0.1:{port}/", timeout=httpx2.Timeout(5, read=0.3))
    assert anyio.current_time() - started < 3


async def test_a_refused_connection_is_a_typed_network_error(sim: SimProcess, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    error = await chat_failure(sim, tmp_path, f"http://127.0.0.1:{closed_port}/v1")
    assert error.code == "network"
    assert "ConnectError calling 127.0.0.1: connection refused" in error.message
    assert "Nothing accepts connections there" in error.hint
    assert error.retryable is True


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    sim: SimProcess, tmp_path: Path
) -> None:
    # Servers close idle keep-alive connections (Chutes' load balancers too); the next request must
    # notice and open a new one, not fail on the dead one.
    async def answer_once_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await anyio.sleep(0.05)

    async with (
        serving(answer_once_then_close) as (port, accepted),
        build_http_client(sim_settings(sim, tmp_path)) as http,
    ):
        first = await http.get(f"http://127.0.0.1:{port}/")
        await anyio.sleep(0.3)
        second = await http.get(f"http://127.0.0.1:{port}/")
    assert (first.text, second.text) == ("ok", "ok")
    assert len(accepted) == 2


async def test_a_body_larger_than_the_read_buffer_arrives_whole(sim: SimProcess, tmp_path: Path) -> None:
    # 8 MiB sent at once: reading pauses and resumes on the way (the buffer holds at most 1 MiB).
    body = bytes(range(256)) * (8 * 4096)

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    async with serving(big) as (port, _), build_http_client(sim_settings(sim, tmp_path)) as http:
        with anyio.fail_after(10):  # a reader that never resumes would wait forever
            async with http.stream("GET", f"http://127.0.0.1:{port}/") as response:
                await anyio.sleep(0.2)  # let it all arrive before reading any
                received = await response.aread()
    assert received == body
