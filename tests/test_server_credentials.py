"""A credential that cannot be used (a broken sign-in token file, a key with characters no HTTP header can
carry) is a typed `auth_invalid` for the calls that need one, saying where it came from and what to do,
and never echoing it; the calls that need none (`list_models`) go on working. Spawned servers, over
stdio and HTTP, against the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import httpx2
import pytest
from http_support import http_server
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_support import API_KEY, ERAS, error_of, mcp_session, text_of
from sim_process import SimProcess

pytestmark = pytest.mark.anyio

ACCESS_TOKEN = "cak_" + "7" * 40
SERVER_TOKEN = "server-token-0123456789abcdef"


def _token_json(access_token: str = ACCESS_TOKEN, **fields: Any) -> str:
    return json.dumps(
        {"access_token": access_token, "expires_at": 4_000_000_000, "client_id": "cid_x", **fields}
    )


def _not_utf8(path: Path) -> None:
    path.write_bytes(b'{"access_token": "\xff\xfe", "expires_at": 1, "client_id": "c"}')


def _directory(path: Path) -> None:
    path.mkdir()


def _symlink_loop(path: Path) -> None:
    os.symlink(path, path)


def _not_json(path: Path) -> None:
    path.write_text('{"access_token": "cak_trunc', encoding="utf-8")


def _wrong_shape(path: Path) -> None:
    path.write_text('["cak_not_an_object"]', encoding="utf-8")


def _too_deep(path: Path) -> None:
    path.write_text("[" * 100_000, encoding="utf-8")


def _non_ascii_token(path: Path) -> None:
    path.write_text(_token_json(ACCESS_TOKEN[:-1] + "é"), encoding="utf-8")


def _infinite_expiry(path: Path) -> None:
    path.write_text(_token_json().replace("4000000000", "1e400"), encoding="utf-8")


BROKEN_FILES: dict[str, Callable[[Path], None]] = {
    "not UTF-8": _not_utf8,
    "a directory": _directory,
    "a symlink loop": _symlink_loop,
    "truncated JSON": _not_json,
    "not an object": _wrong_shape,
    "nested too deep": _too_deep,
    "a non-ASCII access token": _non_ascii_token,
    "an infinite expiry": _infinite_expiry,
}


def default_token_file(home: Path) -> Path:
    """Where `chutes-mcp login` keeps the tokens for a user whose home is `home` (Linux)."""
    path = home / ".config" / "chutes-mcp" / "oauth-token.json"
    path.parent.mkdir(parents=True)
    return path


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("broken", list(BROKEN_FILES))
async def test_a_broken_token_file_fails_only_the_calls_that_need_a_credential(
    sim: SimProcess, tmp_path: Path, broken: str, era: Literal["auto", "legacy"]
) -> None:
    home = tmp_path / "home"
    token_file = default_token_file(home)
    BROKEN_FILES[broken](token_file)
    async with mcp_session(sim, tmp_path / "cache", era, CHUTES_API_KEY="", HOME=str(home)) as client:
        models = await client.call_tool("list_models", {"limit": 3})
        account = await client.call_tool("account", {})
        chat = await client.call_tool("chat", {"prompt": "hello", "max_tokens": 8})
    assert not models.is_error, text_of(models)
    for result in (account, chat):
        error = error_of(result)
        assert error["code"] == "auth_invalid", error
        assert str(token_file) in error["message"], error
        assert "chutes-mcp login" in error["hint"], error
        assert error["retryable"] is False
        assert "cak_" not in text_of(result)
    assert "chat" not in sim.stats()["requests"], "the chat went out without the credential"


def test_logout_removes_a_broken_token_file_and_says_why(tmp_path: Path) -> None:
    token_file = tmp_path / "oauth-token.json"
    _not_utf8(token_file)
    env = {**os.environ, "CHUTES_TOKEN_FILE": str(token_file), "CHUTES_API_KEY": ""}
    done = subprocess.run(
        [sys.executable, "-m", "chutes_mcp", "logout"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert not token_file.exists()
    assert "Traceback" not in done.stderr
    assert "Signed out." in done.stdout
    assert f"{token_file} cannot be used: it is not UTF-8 text" in done.stderr, done.stderr


def test_logout_leaves_a_directory_in_place_of_the_token_file_and_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    token_file = default_token_file(home)
    token_file.mkdir()
    (token_file / "keep.txt").write_text("not ours", encoding="utf-8")
    env = {**os.environ, "HOME": str(home), "CHUTES_API_KEY": ""}
    env.pop("CHUTES_TOKEN_FILE", None)
    env.pop("XDG_CONFIG_HOME", None)
    done = subprocess.run(
        [sys.executable, "-m", "chutes_mcp", "logout"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1, done.stdout
    assert (token_file / "keep.txt").exists()
    assert "Traceback" not in done.stderr
    assert f"{token_file} cannot be used: it is a directory" in done.stderr, done.stderr
    assert "Move the directory" in done.stderr


@pytest.mark.parametrize("variable", ["CHUTES_API_KEY", "CHUTES_OAUTH_TOKEN"])
async def test_a_server_credential_with_non_ascii_characters_is_auth_invalid_and_never_echoed(
    sim: SimProcess, tmp_path: Path, variable: str
) -> None:
    key = API_KEY[:-2] + "é "
    settings = {"CHUTES_API_KEY": "", variable: key}
    async with mcp_session(sim, tmp_path, "auto", **settings) as client:
        models = await client.call_tool("list_models", {"limit": 3})
        account = await client.call_tool("account", {})
    assert not models.is_error, text_of(models)
    error = error_of(account)
    assert error["code"] == "auth_invalid", error
    assert variable in error["message"]
    assert f"position {len(API_KEY) - 1}" in error["message"], error
    assert variable in error["hint"] or "chutes.ai" in error["hint"]
    assert API_KEY[:-2] not in text_of(account)
    assert API_KEY.rsplit(".", 1)[1][:-2] not in text_of(account)


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(API_KEY[:-3] + "é€x", id="non-ascii"),
        pytest.param(API_KEY[:40] + " " + API_KEY[40:], id="space"),
        pytest.param(API_KEY[:40] + "\t" + API_KEY[40:], id="tab"),
    ],
)
async def test_a_tenant_key_that_no_header_can_carry_is_auth_invalid_and_never_echoed(
    sim: SimProcess, tmp_path: Path, sent: str, era: Literal["auto", "legacy"]
) -> None:
    with http_server(sim, tmp_path, "--key-source", "request", "--auth-token", SERVER_TOKEN) as server:
        # Header values travel as bytes; a server reads them as Latin-1, so UTF-8 arrives as other text.
        headers = {"Authorization": f"Bearer {SERVER_TOKEN}", "X-Chutes-Api-Key": sent.encode()}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(server.url, http_client=http), mode=era) as client,
        ):
            results = [
                await client.call_tool("account", {}),
                await client.call_tool("chat", {"prompt": "hello", "max_tokens": 8}),
            ]
        log = "".join(server.log_lines)
    for result in results:
        error = error_of(result)
        assert error["code"] == "auth_invalid", error
        assert "X-Chutes-Api-Key" in error["message"], error
        assert "position" in error["message"], error
        assert "cpk_" in error["hint"], error
        for shown in (text_of(result), log):
            assert API_KEY[4:36] not in shown
            assert API_KEY.rsplit(".", 1)[1][:20] not in shown
    assert "internal_error" not in log
    assert sim.stats()["requests"].get("chat") is None
