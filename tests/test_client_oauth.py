"""Sign in with Chutes against the simulator's /idp routes: login, use, refresh, rotation, logout."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from client_support import CLIENT_ID, follow_to_redirect, hello, sim_settings
from sim_process import SimProcess

from chutes_mcp.chutes.auth.oauth import TokenSet, TokenStore, login, logout
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.http.pool import build_http_client
from chutes_mcp.config import Settings


def oauth_settings(sim: SimProcess, tmp_path: Path) -> Settings:
    return sim_settings(sim, tmp_path, api_key=None)


async def browser_follows_redirect(url: str) -> bool:
    """The browser step: an HTTP client that follows the IdP's redirect to the local callback."""
    async with httpx2.AsyncClient(follow_redirects=True) as browser:
        response = await browser.get(url)
    return response.status_code == 200


async def never_asked(url: str) -> str:
    raise AssertionError("the browser flow should not fall back to pasting")


async def sign_in(settings: Settings) -> TokenSet:
    async with build_http_client(settings) as http:
        return await login(http, settings, open_browser=browser_follows_redirect, ask_pasted_url=never_asked)


async def set_access_ttl(sim: SimProcess, seconds: int) -> None:
    async with httpx2.AsyncClient() as http:
        (await http.patch(f"{sim.url}/_sim/config", json={"access_token_ttl_s": seconds})).raise_for_status()


@pytest.mark.anyio
async def test_browser_login_stores_tokens_0600_and_they_invoke(sim: SimProcess, tmp_path: Path) -> None:
    settings = oauth_settings(sim, tmp_path)
    tokens = await sign_in(settings)
    assert tokens.access_token.get_secret_value().startswith("cak_")
    assert tokens.refresh_token is not None
    assert "chutes:invoke" in tokens.scope
    assert stat.S_IMODE(settings.token_path.stat().st_mode) == 0o600
    async with ChutesClient(settings) as client:
        assert client.credentials.kind == "oauth_file"
        result = await client.chat(hello())
    assert result.text


@pytest.mark.anyio
async def test_headless_login_accepts_the_pasted_redirect(sim: SimProcess, tmp_path: Path) -> None:
    settings = oauth_settings(sim, tmp_path)

    async def no_browser(url: str) -> bool:
        return False

    async with build_http_client(settings) as http:
        tokens = await login(http, settings, open_browser=no_browser, ask_pasted_url=follow_to_redirect)
    assert TokenStore(settings.token_path).load() == tokens


@pytest.mark.anyio
async def test_expired_access_token_is_refreshed_once_and_the_rotated_token_saved(
    sim: SimProcess, tmp_path: Path
) -> None:
    settings = oauth_settings(sim, tmp_path)
    await set_access_ttl(sim, 1)
    first = await sign_in(settings)
    store = TokenStore(settings.token_path)
    # Pretend the clock said the token was good for an hour, so the server's 401 is what triggers refresh.
    store.save(first.model_copy(update={"expires_at": time.time() + 3600}))
    await set_access_ttl(sim, 3600)
    await anyio.sleep(1.1)
    async with ChutesClient(settings) as client:
        result = await client.chat(hello())
    assert result.text
    saved = store.load()
    assert saved is not None
    assert saved.refresh_token is not None
    assert first.refresh_token is not None
    assert saved.refresh_token.get_secret_value() != first.refresh_token.get_secret_value()
    assert saved.access_token.get_secret_value() != first.access_token.get_secret_value()
    statuses = sim.stats()["statuses"]
    assert statuses.get("401") == 1  # one expired attempt, then the refreshed one succeeded


@pytest.mark.anyio
async def test_a_token_about_to_expire_is_refreshed_before_the_call(sim: SimProcess, tmp_path: Path) -> None:
    settings = oauth_settings(sim, tmp_path)
    first = await sign_in(settings)
    TokenStore(settings.token_path).save(first.model_copy(update={"expires_at": time.time() + 5}))
    async with ChutesClient(settings) as client:
        await client.chat(hello())
    saved = TokenStore(settings.token_path).load()
    assert saved is not None
    assert saved.access_token != first.access_token
    assert "401" not in sim.stats()["statuses"]


@pytest.mark.anyio
async def test_logout_revokes_and_deletes(sim: SimProcess, tmp_path: Path) -> None:
    settings = oauth_settings(sim, tmp_path)
    tokens = await sign_in(settings)
    async with build_http_client(settings) as http:
        assert await logout(http, settings) is True
        assert not settings.token_path.exists()
        assert await logout(http, settings) is False
        response = await http.get(
            f"{sim.management_base}/users/me",
            headers={"Authorization": f"Bearer {tokens.access_token.get_secret_value()}"},
        )
    assert response.status_code == 401


def test_cli_login_and_logout_against_the_simulator(sim: SimProcess, tmp_path: Path) -> None:
    """`chutes-mcp login --no-browser`: the test plays the user, opening the URL and pasting the redirect."""
    token_file = tmp_path / "cli-token.json"
    env = {
        **os.environ,
        "CHUTES_MANAGEMENT_BASE": sim.management_base,
        "CHUTES_CLIENT_ID": CLIENT_ID,
        "CHUTES_TOKEN_FILE": str(token_file),
    }
    command = [sys.executable, "-m", "chutes_mcp", "login", "--no-browser"]
    with subprocess.Popen(
        command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        assert process.stdin is not None
        url = ""
        while not url:
            line = process.stderr.readline()
            assert line, "login exited before printing the sign-in URL"
            if "/idp/authorize?" in line:
                url = line.strip()
        redirect = httpx2.get(url).headers["location"]
        out, err = process.communicate(redirect + "\n", timeout=30)
    assert process.returncode == 0, err
    assert "Signed in with Chutes" in out
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    logout = subprocess.run(
        [sys.executable, "-m", "chutes_mcp", "logout"], env=env, capture_output=True, text=True, timeout=30
    )
    assert logout.returncode == 0, logout.stderr
    assert "Signed out." in logout.stdout
    assert not token_file.exists()
