"""`serve --transport http --auth chutes`: remote connectors sign their users in with Chutes.

The official MCP Python client runs its whole OAuth flow against a spawned server and the simulator's IdP
(protected-resource metadata, the IdP's discovery, authorize with PKCE, token, the call), each test
playing the user's browser with a plain HTTP client. Tokens minted straight from the simulated IdP show
the refusals: no `chutes:invoke` is a 403, expired or revoked a 401.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import httpx2
import pytest
from hosted_support import status_of
from http_support import HttpServer, http_server
from jsonrpc_support import MCP_HEADERS, initialize
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.exceptions import OAuthRegistrationError
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from mcp_support import API_KEY, ERAS, error_of, server_env
from sim_process import SimProcess
from system_servers import free_port

from chutes_mcp.sim.idp import DEMO_CLIENT_ID

# A connector's registered redirect URI; nothing listens there: the test reads the IdP's redirect.
REDIRECT_URI = "http://127.0.0.1:1456/oauth-callback"
SERVER_TOKEN = "static-server-token-0123456789"


class ConnectorStorage:
    """What a connector keeps: the client id registered with Chutes (its IdP has no dynamic
    registration), and the tokens it got."""

    def __init__(self, client_id: str | None = DEMO_CLIENT_ID) -> None:
        self.client_id = client_id
        self.tokens: OAuthToken | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        if self.client_id is None:
            return None
        return OAuthClientInformationFull(
            client_id=self.client_id, redirect_uris=[REDIRECT_URI], token_endpoint_auth_method="none"
        )

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_id = client_info.client_id


class Browser:
    """The user's browser: opens the authorize URL, signs in as `user`, and hands the redirect back."""

    def __init__(self, user: str) -> None:
        self.user = user
        self.opened: list[str] = []
        self._redirect: dict[str, list[str]] = {}

    async def open(self, url: str) -> None:
        self.opened.append(url)
        async with httpx2.AsyncClient(timeout=30) as browser:
            response = await browser.get(f"{url}&{urlencode({'login_hint': self.user})}")
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(REDIRECT_URI + "?")
        self._redirect = parse_qs(urlsplit(location).query)

    async def callback(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(code=self._redirect["code"][0], state=self._redirect["state"][0])


@asynccontextmanager
async def connector(
    url: str,
    browser: Browser,
    mode: Literal["auto", "legacy"] = "auto",
    storage: ConnectorStorage | None = None,
) -> AsyncIterator[Client]:
    """The official client as a remote connector: no key, only its registered client id."""
    auth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(redirect_uris=[REDIRECT_URI], client_name="test connector"),
        storage=storage or ConnectorStorage(),
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


@asynccontextmanager
async def bearer_client(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


def sign_in_directly(sim: SimProcess, user: str, scope: str = "chutes:invoke") -> str:
    """An access token from the simulated IdP, the way a connector gets one: authorize with PKCE, token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": user,
    }
    authorize = httpx2.get(f"{sim.management_base}/idp/authorize", params=query)
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": DEMO_CLIENT_ID,
        "code_verifier": verifier,
    }
    response = httpx2.post(f"{sim.management_base}/idp/token", data=form)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def post_initialize(server: HttpServer, token: str | None = None, **headers: str) -> httpx2.Response:
    sent: dict[str, str | bytes] = {**MCP_HEADERS, **headers}
    if token is not None:
        # As bytes, so a token that is not ASCII arrives as a client would send it (latin-1).
        sent["Authorization"] = f"Bearer {token}".encode("latin-1")
    return httpx2.post(server.url, json=initialize(), headers=sent, timeout=30)


def used_today(sim: SimProcess, credential: str) -> Any:
    """How many calls Chutes counted against the account behind `credential` today."""
    response = httpx2.get(
        f"{sim.management_base}/users/me/quota_usage/me", headers={"Authorization": f"Bearer {credential}"}
    )
    response.raise_for_status()
    return response.json()["used"]


def metadata_url(server: HttpServer) -> str:
    return f"{server.base}/.well-known/oauth-protected-resource/mcp"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_a_connector_signs_its_user_in_and_the_user_is_billed(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    browser = Browser("alice")
    with http_server(sim, tmp_path, "--auth", "chutes") as server:
        async with connector(server.url, browser, mode) as client:
            answer = await client.call_tool("chat", {"prompt": "hello"})
            account = await client.call_tool("account", {})
        log = "".join(server.log_lines)
    assert not answer.is_error, answer.content
    assert not account.is_error, account.content
    [opened] = browser.opened  # one sign-in, then every request went through on its token
    authorize = urlsplit(opened)
    query = {key: values[0] for key, values in parse_qs(authorize.query).items()}
    assert (
        f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == f"{sim.management_base}/idp/authorize"
    )
    assert query["client_id"] == DEMO_CLIENT_ID
    assert query["scope"] == "chutes:invoke"  # what the server's metadata asks for
    assert query["code_challenge_method"] == "S256"
    assert query["resource"] == server.url
    # The call ran on Alice's account, not on the operator's key the server also holds.
    assert sim.stats()["requests_by_user"]["oauth:alice"] == 1
    assert used_today(sim, sign_in_directly(sim, "alice")) == 1
    assert used_today(sim, API_KEY) == 0
    assert "user=alice" in log  # the access log says whose call it was
    assert "cak_" not in log  # and never shows a token


@pytest.mark.anyio
async def test_each_user_has_one_limiter_whatever_token_they_hold(sim: SimProcess, tmp_path: Path) -> None:
    # One request every 10 s per user, burst 1: a user who spent their slot waits ~10 s for the next.
    env = {"CHUTES_RATE_LIMIT_RPM": "6", "CHUTES_RATE_LIMIT_BURST": "1"}
    alice, alice_again, bob = (sign_in_directly(sim, user) for user in ("alice", "alice", "bob"))
    with http_server(sim, tmp_path, "--auth", "chutes", **env) as server:
        async with (
            bearer_client(server.url, alice) as first,
            bearer_client(server.url, alice_again) as second,
            bearer_client(server.url, bob) as other,
        ):
            assert not (await first.call_tool("chat", {"prompt": "hello"})).is_error
            second_done = anyio.Event()

            async def alice_with_her_new_token() -> None:
                await second.call_tool("chat", {"prompt": "hello again"})
                second_done.set()

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(alice_with_her_new_token)  # waits in Alice's limiter
                answer = await other.call_tool("chat", {"prompt": "hello"})
                assert not second_done.is_set()  # Bob was served while Alice still waited
                # Alice's status shows her own limiter, her second call in its line; Bob's, his.
                with anyio.fail_after(10):
                    while (await status_of(first))["limiter"]["waiting"] != 1:  # noqa: ASYNC110 (the server's state)
                        await anyio.sleep(0.05)
                bobs = (await status_of(other))["limiter"]
                tasks.cancel_scope.cancel()
    assert not answer.is_error
    by_user = sim.stats()["requests_by_user"]
    assert (by_user["oauth:alice"], by_user["oauth:bob"]) == (1, 1)
    assert (bobs["waiting"], bobs["acquired"]) == (0, sim.stats()["callers"]["oauth:bob"]["requests"])


def test_a_token_without_chutes_invoke_gets_403_insufficient_scope(sim: SimProcess, tmp_path: Path) -> None:
    profile_only = sign_in_directly(sim, "carol", scope="openid profile")
    with http_server(sim, tmp_path, CHUTES_MCP_AUTH="chutes") as server:  # the setting, not the flag
        refused = post_initialize(server, profile_only)
        metadata = httpx2.get(metadata_url(server)).json()
    assert refused.status_code == 403
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="insufficient_scope"' in challenge
    assert f'resource_metadata="{metadata_url(server)}"' in challenge
    assert "chutes:invoke" in metadata["scopes_supported"]
    assert "oauth:carol" not in sim.stats()["requests_by_user"]


def test_expired_revoked_and_unknown_tokens_get_401_pointing_at_the_metadata(
    sim: SimProcess, tmp_path: Path
) -> None:
    revoked = sign_in_directly(sim, "dave")
    httpx2.post(f"{sim.management_base}/idp/token/revoke", data={"token": revoked}).raise_for_status()
    httpx2.patch(f"{sim.url}/_sim/config", json={"access_token_ttl_s": 0}).raise_for_status()
    expired = sign_in_directly(sim, "erin")
    with http_server(sim, tmp_path, "--auth", "chutes") as server:
        answers = {
            name: post_initialize(server, token)
            for name, token in [
                ("none", None),
                ("expired", expired),
                ("revoked", revoked),
                ("unknown", "cak_" + "0" * 85),
                ("not ascii", "caké"),
                ("huge", "cak_" + "x" * 5000),
            ]
        }
    for name, answer in answers.items():
        assert answer.status_code == 401, name
        challenge = answer.headers["www-authenticate"]
        assert 'error="invalid_token"' in challenge, name
        assert f'resource_metadata="{metadata_url(server)}"' in challenge, name


@pytest.mark.anyio
async def test_a_token_revoked_after_it_was_accepted_is_refused_from_the_next_request(
    sim: SimProcess, tmp_path: Path
) -> None:
    token = sign_in_directly(sim, "frank")
    with http_server(sim, tmp_path, "--auth", "chutes", CHUTES_MAX_RETRIES="0") as server:
        async with bearer_client(server.url, token) as client:
            before = await client.call_tool("chat", {"prompt": "hello"})
            httpx2.post(f"{sim.management_base}/idp/token/revoke", data={"token": token}).raise_for_status()
            # Accepted here a moment ago, so this request got in; Chutes itself refuses the token.
            during = await client.call_tool("chat", {"prompt": "hello"})
        after = post_initialize(server, token)
    assert not before.is_error
    assert error_of(during)["code"] == "auth_invalid"
    assert "sign in with Chutes again" in error_of(during)["hint"]
    assert after.status_code == 401  # which sends the user's client through sign-in again


def test_an_idp_that_cannot_answer_is_a_503_not_a_new_sign_in(sim: SimProcess, tmp_path: Path) -> None:
    nothing_there = f"http://127.0.0.1:{free_port()}"
    with http_server(sim, tmp_path, "--auth", "chutes", CHUTES_MANAGEMENT_BASE=nothing_there) as server:
        answer = post_initialize(server, "cak_" + "1" * 85)
        healthy = httpx2.get(f"{server.base}/healthz")
        log = "".join(server.log_lines)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["error"] == "temporarily_unavailable"
    assert healthy.status_code == 200
    assert "Traceback" not in log
    assert "sign_in.unavailable" in log


def test_behind_a_proxy_the_metadata_names_the_public_url(sim: SimProcess, tmp_path: Path) -> None:
    public = "https://mcp.example.com/chutes/mcp"
    with http_server(
        sim, tmp_path, "--host", "0.0.0.0", "--auth", "chutes", CHUTES_MCP_PUBLIC_URL=public
    ) as server:
        # A proxy forwards the public paths, the Host header included, to the server's own.
        path_inserted = httpx2.get(
            f"{server.base}/.well-known/oauth-protected-resource/chutes/mcp",
            headers={"Host": "mcp.example.com"},
        )
        root = httpx2.get(f"{server.base}/.well-known/oauth-protected-resource")
        refused = post_initialize(server, Host="mcp.example.com")
    assert path_inserted.status_code == 200
    assert path_inserted.json() == root.json()
    assert path_inserted.json() == {
        "resource": public,
        "authorization_servers": [sim.management_base],
        "scopes_supported": ["chutes:invoke"],
        "bearer_methods_supported": ["header"],
    }
    assert refused.status_code == 401  # the public host is this server's own: not a 421
    assert (
        'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/chutes/mcp"'
        in refused.headers["www-authenticate"]
    )


def _raised(failure: BaseException, kind: type[BaseException]) -> bool:
    if isinstance(failure, BaseExceptionGroup):
        return any(_raised(inner, kind) for inner in failure.exceptions)
    return isinstance(failure, kind)


@pytest.mark.anyio
async def test_server_tokens_advertise_no_authorization_server(sim: SimProcess, tmp_path: Path) -> None:
    with http_server(sim, tmp_path, "--host", "0.0.0.0", "--auth-token", SERVER_TOKEN) as server:
        path_inserted = httpx2.get(metadata_url(server))
        root = httpx2.get(f"{server.base}/.well-known/oauth-protected-resource")
        missing = post_initialize(server)
        browser = Browser("mallory")
        # An OAuth client finds no authorization server to register with, and says so; no user is
        # sent anywhere.
        try:
            async with connector(server.url, browser, storage=ConnectorStorage(client_id=None)) as client:
                await client.list_tools()
        except BaseException as exc:  # the SDK may deliver it inside an exception group
            failure: BaseException | None = exc
        else:
            failure = None
        async with bearer_client(server.url, SERVER_TOKEN) as client:
            tools = await client.list_tools()
    assert (path_inserted.status_code, root.status_code) == (404, 404)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="Authentication required"'
    )
    assert failure is not None
    assert _raised(failure, OAuthRegistrationError), failure
    assert browser.opened == []
    assert tools.tools


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--host", "0.0.0.0", "--auth", "chutes"), {}, "--public-url"),
        (("--auth", "chutes", "--public-url", "http://mcp.example.com/mcp"), {}, "must be https"),
        (("--auth", "chutes", "--auth-token", SERVER_TOKEN), {}, "contradicts --auth-token"),
        (("--auth", "chutes", "--no-auth"), {}, "contradicts --no-auth"),
        (("--auth", "chutes", "--key-source", "request"), {}, "drop --key-source request"),
        ((), {"CHUTES_MCP_AUTH": "github"}, "CHUTES_MCP_AUTH"),
    ],
)
def test_sign_in_setups_that_cannot_work_do_not_start(
    sim: SimProcess, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chutes_mcp", "serve", "--transport", "http", "--port", "0", *args],
        env=server_env(sim, tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr
