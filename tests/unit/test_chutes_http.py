"""Credential safety of the shared HTTP pool, checked with httpx2's in-memory transport."""

from __future__ import annotations

import httpx2
import pytest

from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import BadRequestError, UpstreamError
from chutes_mcp.chutes.http.pool import build_http_client
from chutes_mcp.config import Settings

KEY = "cpk_" + "a" * 32 + "." + "b" * 32 + "." + "C" * 32


@pytest.mark.anyio
async def test_a_redirect_to_another_host_is_not_followed() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(302, headers={"location": "https://evil.example.com/v1/models"})

    settings = Settings(api_key=KEY, max_retries=0)
    http = build_http_client(settings, transport=httpx2.MockTransport(handler))
    async with ChutesClient(settings, http=http) as client:
        with pytest.raises(UpstreamError, match="redirect"):
            await client.list_models_raw()
    await http.aclose()
    assert [r.url.host for r in seen] == ["llm.chutes.ai"]
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.anyio
async def test_no_credential_over_plain_http_to_another_machine() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"data": []})

    settings = Settings(api_key=KEY, max_retries=0)
    http = build_http_client(settings, transport=httpx2.MockTransport(handler))
    async with ChutesClient(settings, http=http) as client:
        with pytest.raises(BadRequestError, match="refusing to send a credential"):
            await client.embed("x", "m", base_url="http://embed.example.com/v1")
    await http.aclose()
    assert seen == []
