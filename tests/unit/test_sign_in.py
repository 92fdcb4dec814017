"""Sign in with Chutes, the parts without a network: the metadata documents a server publishes (and the
ones it must not), and the introspection cache's rules against a stand-in Chutes IdP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp.server.auth.settings import AuthSettings
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from starlette.types import ASGIApp

from chutes_mcp.chutes.auth.introspection import EXPIRY_MARGIN_S, TokenIntrospector
from chutes_mcp.chutes.errors import ChutesError, NetworkError, UpstreamError
from chutes_mcp.config import load_settings
from chutes_mcp.server import create_server
from chutes_mcp.server.sign_in import ChutesSignIn
from chutes_mcp.server.streamable_http import HttpOptions, auth_settings, transport_security
from chutes_mcp.shared.cache import InProcessCache

CHUTES_ISSUER = "https://api.chutes.ai"
# Chutes' discovery document (reference §6.3), as a client fetches it from the issuer.
CHUTES_DISCOVERY = {
    "issuer": "https://api.chutes.ai",
    "authorization_endpoint": "https://api.chutes.ai/idp/authorize",
    "token_endpoint": "https://api.chutes.ai/idp/token",
    "userinfo_endpoint": "https://api.chutes.ai/idp/userinfo",
    "revocation_endpoint": "https://api.chutes.ai/idp/token/revoke",
    "introspection_endpoint": "https://api.chutes.ai/idp/token/introspect",
    "scopes_supported": ["profile", "chutes:invoke"],
    "response_types_supported": ["code"],
    "response_modes_supported": ["query"],
    "grant_types_supported": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
    "code_challenge_methods_supported": ["plain", "S256"],
    "service_documentation": "https://docs.chutes.ai/oauth",
    "subject_types_supported": ["public"],
    "claims_supported": ["sub", "username", "created_at"],
}
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def _app(options: HttpOptions, sign_in: ChutesSignIn | None) -> ASGIApp:
    server = create_server(load_settings(api_key=None, oauth_token=None), http=options, sign_in=sign_in)
    app = server.streamable_http_app(
        streamable_http_path=options.path, stateless_http=True, transport_security=transport_security(options)
    )
    return sign_in.front(app) if sign_in is not None else app


@asynccontextmanager
async def serving(options: HttpOptions, sign_in: ChutesSignIn | None) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=_app(options, sign_in))
    async with httpx2.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{options.port}") as http:
        yield http


def _sign_in(options: HttpOptions, issuer: str = CHUTES_ISSUER) -> ChutesSignIn:
    return ChutesSignIn(resource_url=options.resource_url, issuer=issuer, path=options.path)


def test_the_resource_url_is_the_bound_address_unless_a_public_one_is_given() -> None:
    assert HttpOptions(port=8123).resource_url == "http://127.0.0.1:8123/mcp"
    assert HttpOptions(host="::1", port=8123, path="/x").resource_url == "http://[::1]:8123/x"
    public = HttpOptions(host="0.0.0.0", port=8123, public_url="https://mcp.example.com/chutes/mcp")
    assert public.resource_url == "https://mcp.example.com/chutes/mcp"


@pytest.mark.anyio
async def test_the_metadata_names_the_chutes_idp_and_the_invoke_scope_at_both_well_known_urls() -> None:
    options = HttpOptions(port=8123)
    async with serving(options, _sign_in(options)) as http:
        path_inserted = await http.get("/.well-known/oauth-protected-resource/mcp")
        root = await http.get("/.well-known/oauth-protected-resource")
        preflight = await http.options(
            "/.well-known/oauth-protected-resource",
            headers={"Origin": "https://claude.ai", "Access-Control-Request-Method": "GET"},
        )
    assert path_inserted.status_code == root.status_code == 200
    assert (
        path_inserted.json()
        == root.json()
        == {
            "resource": "http://127.0.0.1:8123/mcp",
            "authorization_servers": [CHUTES_ISSUER],
            "scopes_supported": ["chutes:invoke"],
            "bearer_methods_supported": ["header"],
        }
    )
    assert preflight.status_code == 200  # browser-based clients may read it too
    assert preflight.headers["access-control-allow-origin"] == "*"


def test_the_advertised_issuer_is_the_one_chutes_discovery_names_character_for_character() -> None:
    # Clients compare the two as plain strings (RFC 8414 §3.3): a trailing slash added on either side
    # would fail every sign-in.
    options = HttpOptions(port=8123)
    for issuer in (CHUTES_ISSUER, "http://127.0.0.1:8089/api"):
        document = _sign_in(options, issuer).metadata.model_dump_json(exclude_none=True)
        advertised = ProtectedResourceMetadata.model_validate_json(document).authorization_servers[0]
        discovered = OAuthMetadata.model_validate({**CHUTES_DISCOVERY, "issuer": issuer}).issuer
        assert str(advertised) == str(discovered) == issuer


@pytest.mark.anyio
async def test_a_root_public_url_has_its_metadata_at_the_root_only() -> None:
    options = HttpOptions(host="0.0.0.0", port=8123, public_url="https://mcp.example.com")
    async with serving(options, _sign_in(options)) as http:
        root = await http.get("/.well-known/oauth-protected-resource")
        path_inserted = await http.get("/.well-known/oauth-protected-resource/mcp")
    assert root.json()["resource"] == "https://mcp.example.com"
    assert path_inserted.status_code == 404


@pytest.mark.anyio
async def test_a_request_without_a_token_is_told_where_the_metadata_is() -> None:
    options = HttpOptions(host="0.0.0.0", port=8123, public_url="https://mcp.example.com/chutes/mcp")
    async with serving(options, _sign_in(options)) as http:
        refused = await http.post("/mcp", json={}, headers={**MCP_HEADERS, "Host": "mcp.example.com"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="Authentication required", '
        'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/chutes/mcp"'
    )


@pytest.mark.anyio
async def test_server_tokens_publish_no_metadata_and_name_none_in_a_401() -> None:
    options = HttpOptions(host="0.0.0.0", port=8123, auth_tokens=("static-token-0123456789",))
    assert auth_settings(options).resource_server_url is None
    async with serving(options, None) as http:
        documents = [
            await http.get("/.well-known/oauth-protected-resource/mcp"),
            await http.get("/.well-known/oauth-protected-resource"),
            await http.get("/.well-known/oauth-authorization-server"),
        ]
        refused = await http.post("/mcp", json={}, headers=MCP_HEADERS)
    assert [document.status_code for document in documents] == [404, 404, 404]
    assert refused.status_code == 401
    assert "resource_metadata" not in refused.headers["www-authenticate"]


def test_sign_in_settings_are_a_resource_server_of_the_chutes_idp() -> None:
    settings: AuthSettings = _sign_in(HttpOptions(port=8123)).auth_settings
    assert str(settings.issuer_url) == CHUTES_ISSUER
    assert str(settings.resource_server_url) == "http://127.0.0.1:8123/mcp"
    assert settings.required_scopes == ["chutes:invoke"]
    assert settings.client_registration_options is None  # Chutes' IdP registers no clients on the fly


class StandInIdP:
    """Chutes' introspection endpoint as a test scripts it, counting the questions."""

    def __init__(self, answer: Callable[[str], httpx2.Response]) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/idp/token/introspect"
        token = dict(httpx2.QueryParams(request.content.decode()))["token"]
        self.asked.append(token)
        return self.answer(token)


def _active(expires_in: float, **fields: Any) -> httpx2.Response:
    now = time.time()
    body = {
        "active": True,
        "token_type": "access_token",
        "exp": int(now + expires_in),
        "iat": int(now),
        "scope": "openid chutes:invoke",
        "client_id": "cid_x",
        "username": "alice",
        "sub": "u-1",
        **fields,
    }
    return httpx2.Response(200, json=body)


@asynccontextmanager
async def introspector(idp: StandInIdP) -> AsyncIterator[TokenIntrospector]:
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(idp.handle)) as http:
        yield TokenIntrospector(http, CHUTES_ISSUER, InProcessCache())


@pytest.mark.anyio
async def test_a_good_answer_is_kept_until_shortly_before_the_token_expires() -> None:
    idp = StandInIdP(lambda token: _active(3600 if token == "cak_long" else EXPIRY_MARGIN_S / 2))
    async with introspector(idp) as tokens:
        first = await tokens.grant("cak_long")
        again = await tokens.grant("cak_long")
        await tokens.grant("cak_nearly_expired")
        await tokens.grant("cak_nearly_expired")
    assert first == again
    assert first is not None
    assert (first.user_id, first.username, first.client_id) == ("u-1", "alice", "cid_x")
    assert first.scopes == {"openid", "chutes:invoke"}
    # Asked once for the long-lived token; each time for one that expires within the margin.
    assert idp.asked == ["cak_long", "cak_nearly_expired", "cak_nearly_expired"]


@pytest.mark.anyio
async def test_dead_tokens_and_refusals_are_remembered_for_a_while() -> None:
    answers = {
        "cak_dead": httpx2.Response(200, json={"active": False}),
        "crt_refresh": _active(3600, token_type="refresh_token"),
        "cak_good": _active(3600),
    }
    idp = StandInIdP(lambda token: answers[token])
    async with introspector(idp) as tokens:
        assert await tokens.grant("cak_dead") is None
        assert await tokens.grant("cak_dead") is None
        assert await tokens.grant("crt_refresh") is None  # no bearer, though active
        assert await tokens.grant("cak_good") is not None
        await tokens.refused("cak_good")  # Chutes refused it on a call
        assert await tokens.grant("cak_good") is None
        # Not worth a question: too long, not ASCII, blank.
        for nonsense in ("cak_" + "x" * 600, "caké", "", "two words"):
            assert await tokens.grant(nonsense) is None
    assert idp.asked == ["cak_dead", "crt_refresh", "cak_good"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx2.Response(503, json={"detail": "busy"}), ChutesError),
        (httpx2.Response(200, text="<html>"), UpstreamError),
        (httpx2.Response(200, json={"scope": "chutes:invoke"}), UpstreamError),
        (httpx2.Response(200, json={"active": True, "scope": "chutes:invoke"}), UpstreamError),
    ],
)
async def test_an_idp_that_cannot_say_is_an_error_not_a_verdict(
    answer: httpx2.Response, error: type[ChutesError]
) -> None:
    idp = StandInIdP(lambda token: answer)
    async with introspector(idp) as tokens:
        for _ in range(2):
            with pytest.raises(error):
                await tokens.grant("cak_x")
    assert len(idp.asked) == 2  # nothing was cached from a failed question


@pytest.mark.anyio
async def test_an_unreachable_idp_is_a_network_error() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    async with httpx2.AsyncClient(transport=httpx2.MockTransport(refuse)) as http:
        tokens = TokenIntrospector(http, CHUTES_ISSUER, InProcessCache())
        with pytest.raises(NetworkError):
            await tokens.grant("cak_x")


@pytest.mark.anyio
async def test_the_cache_forgets_after_the_time_given_and_holds_a_bounded_number() -> None:
    cache = InProcessCache(max_entries=2)
    await cache.put("a", "1", 60)
    await cache.put("gone", "x", 0)
    assert await cache.get("gone") is None
    await cache.put("b", "2", 60)
    await cache.get("a")  # a was used last, so b goes first
    await cache.put("c", "3", 60)
    assert [await cache.get(key) for key in ("a", "b", "c")] == ["1", None, "3"]
    await cache.put("short", "s", 1e-6)
    await anyio.sleep(1e-3)
    assert await cache.get("short") is None
