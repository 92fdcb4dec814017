"""The client behind a real forward proxy (tinyproxy), configured as users configure every HTTP tool:
HTTP_PROXY / HTTPS_PROXY, NO_PROXY, and SSL_CERT_FILE for a private CA."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from urllib.parse import urlsplit

import httpx2
import pytest
import trustme
from client_support import hello, sim_settings
from raw_server import forwarding_to, serving
from sim_process import SimProcess
from system_servers import ForwardProxy, forward_proxy

from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.chutes.http.proxies import proxy_for
from chutes_mcp.chutes.types import TextDelta

pytestmark = pytest.mark.anyio


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    with forward_proxy(tmp_path) as running:
        yield running


def _no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_plain_http_goes_through_http_proxy(
    sim: SimProcess, tmp_path: Path, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        models = await client.list_models_raw()
    assert models
    assert f"GET {sim.llm_base}/models HTTP/1.1" in proxy.requests()


async def test_no_proxy_sends_those_hosts_direct(
    sim: SimProcess, tmp_path: Path, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", urlsplit(sim.url).hostname or "")
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        assert await client.list_models_raw()
    assert proxy.requests() == []


async def test_https_streams_through_a_proxy_tunnel_to_a_private_ca(
    sim: SimProcess, tmp_path: Path, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with serving(forwarding_to(sim.url), tls=server_tls) as (port, accepted):
        base = f"https://127.0.0.1:{port}"
        settings = sim_settings(sim, tmp_path, api_base=f"{base}/v1", management_base=f"{base}/api")
        async with ChutesClient(settings) as client:
            async with aclosing(client.chat_stream(hello(max_tokens=8))) as events:
                text = "".join([event.text async for event in events if isinstance(event, TextDelta)])
            me = await client.me()
    assert text
    assert "username" in me
    assert proxy.requests() == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"], "one tunnel, kept alive"
    assert len(accepted) == 1


PROXY_USER, PROXY_PASSWORD = "ada", "s3cret-proxy-pass"


@pytest.fixture
def auth_proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    with forward_proxy(tmp_path, basic_auth=(PROXY_USER, PROXY_PASSWORD)) as running:
        yield running


def _with_credentials(proxy_url: str) -> str:
    return proxy_url.replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")


def _tls_to(sim: SimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A TLS context for a server in front of the simulator, whose CA this process trusts."""
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    return server_tls


async def test_a_proxy_that_wants_credentials_is_a_setup_error_tried_once(
    sim: SimProcess, tmp_path: Path, auth_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy_settings(monkeypatch)
    server_tls = _tls_to(sim, tmp_path, monkeypatch)
    async with serving(forwarding_to(sim.url), tls=server_tls) as (port, _):
        base = f"https://127.0.0.1:{port}"
        settings = sim_settings(
            sim, tmp_path, api_base=f"{base}/v1", management_base=f"{base}/api", max_retries=3
        )
        monkeypatch.setenv("HTTPS_PROXY", auth_proxy.url)
        async with ChutesClient(settings) as client:
            with pytest.raises(ChutesError) as caught:
                await client.chat(hello(max_tokens=4))
        tunnels_refused = len(auth_proxy.requests())
        # As the hint says: the credentials in the proxy's URL, and the same call goes through.
        monkeypatch.setenv("HTTPS_PROXY", _with_credentials(auth_proxy.url))
        async with ChutesClient(settings) as client:
            answer = await client.chat(hello(max_tokens=4))
    error = caught.value
    assert (error.code, error.status, error.retryable) == ("network", 407, False), error
    assert "proxy" in error.message
    assert "407" in error.message
    assert "HTTPS_PROXY" in error.hint
    assert "user:password@" in error.hint
    assert tunnels_refused == 1, "a 407 was retried"
    assert answer.text


async def test_a_plain_http_proxy_that_wants_credentials_names_http_proxy(
    sim: SimProcess, tmp_path: Path, auth_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", auth_proxy.url)
    async with ChutesClient(sim_settings(sim, tmp_path, max_retries=3)) as client:
        with pytest.raises(ChutesError) as caught:
            await client.me()
    error = caught.value
    assert (error.code, error.status, error.retryable) == ("network", 407, False), error
    assert "HTTP_PROXY" in error.hint
    assert len(auth_proxy.requests()) == 1, "a 407 was retried"
    monkeypatch.delenv("HTTP_PROXY")
    assert sim.stats()["requests"] == {}


@pytest.mark.parametrize(
    ("variable", "api_base"),
    [("HTTP_PROXY", "http://localhost:9/v1"), ("HTTPS_PROXY", "https://chutes-upstream.example/v1")],
)
async def test_a_proxy_that_refuses_connections_is_named_with_its_variable(
    sim: SimProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, api_base: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    _no_proxy_settings(monkeypatch)
    monkeypatch.setenv(variable, f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{closed_port}")
    async with ChutesClient(sim_settings(sim, tmp_path, api_base=api_base, max_retries=0)) as client:
        with pytest.raises(ChutesError) as caught:
            await client.chat(hello(max_tokens=4))
    error = caught.value
    assert error.code == "network", error
    assert f"proxy http://127.0.0.1:{closed_port}" in error.message, error.message
    assert "connection refused" in error.message
    assert variable in error.hint
    assert "NO_PROXY" in error.hint
    assert "base URL" not in error.hint
    assert PROXY_PASSWORD not in f"{error.message} {error.hint}"


# (NO_PROXY, URL): the cases of curl's rules that httpx2 follows, each read the same way by the errors.
ROUTING_CASES = [
    ("", "http://llm.chutes.invalid/v1"),
    ("*", "http://llm.chutes.invalid/v1"),
    ("chutes.invalid", "http://llm.chutes.invalid/v1"),
    ("chutes.invalid", "http://chutes.invalid/v1"),
    ("chutes.invalid", "http://wwwchutes.invalid/v1"),
    (".chutes.invalid", "http://llm.chutes.invalid/v1"),
    (".chutes.invalid", "http://chutes.invalid/v1"),
    ("*.chutes.invalid", "http://chutes.invalid/v1"),
    ("other.invalid, llm.chutes.invalid:8080", "http://llm.chutes.invalid:8080/v1"),
    ("llm.chutes.invalid:8080", "http://llm.chutes.invalid/v1"),
    ("http://llm.chutes.invalid", "http://llm.chutes.invalid/v1"),
    ("http://llm.chutes.invalid", "https://llm.chutes.invalid/v1"),
    ("127.0.0.2", "http://127.0.0.2:9/v1"),
    ("127.0.0.0/8", "http://127.0.0.3:9/v1"),
    ("10.0.0.0/8", "http://127.0.0.3:9/v1"),
    ("localhost", "http://localhost:9/v1"),
    ("::1", "http://[::1]:9/v1"),
]


async def test_the_proxy_errors_name_is_the_one_httpx2_routes_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`proxies.proxy_for` mirrors httpx2's routing for error messages; httpx2 itself is the judge."""

    async def fake_proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    mismatches = []
    async with serving(fake_proxy) as (port, accepted):
        for no_proxy, url in ROUTING_CASES:
            _no_proxy_settings(monkeypatch)
            monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{port}")
            monkeypatch.setenv("NO_PROXY", no_proxy)
            before = len(accepted)
            async with httpx2.AsyncClient(timeout=5) as http:
                with contextlib.suppress(httpx2.HTTPError):
                    await http.get(url)
            routed = len(accepted) > before
            named = proxy_for(httpx2.URL(url))
            if routed != (named is not None):
                mismatches.append((no_proxy, url, routed, named))
            if named is not None:
                assert (named.url, named.variable) == (f"http://127.0.0.1:{port}", "ALL_PROXY")
    assert mismatches == []
