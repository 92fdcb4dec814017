"""The client behind a real forward proxy (tinyproxy), configured as users configure every HTTP tool:
HTTP_PROXY / HTTPS_PROXY, NO_PROXY, and SSL_CERT_FILE for a private CA."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import aclosing
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import trustme
from client_support import hello, sim_settings
from raw_server import forwarding_to, serving
from sim_process import SimProcess
from system_servers import ForwardProxy, forward_proxy

from chutes_mcp.chutes.client import ChutesClient
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
