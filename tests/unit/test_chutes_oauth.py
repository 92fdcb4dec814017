from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import SecretStr

from chutes_mcp.chutes.auth.oauth import (
    OAuthApp,
    TokenSet,
    TokenStore,
    authorize_url,
    code_from_callback,
    new_pkce_pair,
)
from chutes_mcp.chutes.errors import AuthInvalidError, BadRequestError

APP = OAuthApp(
    idp_base="https://api.chutes.ai/idp",
    client_id="cid_abc",
    client_secret=None,
    redirect_uri="http://127.0.0.1:1456/oauth-callback",
    scopes="openid profile chutes:invoke",
)


def test_pkce_s256() -> None:
    verifier, challenge = new_pkce_pair()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert challenge == expected
    assert new_pkce_pair()[0] != verifier


def test_authorize_url_carries_the_pkce_and_scopes() -> None:
    url = authorize_url(APP, redirect_uri=APP.redirect_uri, state="s1", challenge="c1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://api.chutes.ai/idp/authorize"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query == {
        "response_type": "code",
        "client_id": "cid_abc",
        "redirect_uri": "http://127.0.0.1:1456/oauth-callback",
        "scope": "openid profile chutes:invoke",
        "state": "s1",
        "code_challenge": "c1",
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://127.0.0.1:1456/oauth-callback?code=abc&state=s1", None),
        ("  http://127.0.0.1:1456/oauth-callback?state=s1&code=abc\n", None),
        ("http://127.0.0.1:1456/oauth-callback?code=abc&state=other", AuthInvalidError),
        (
            "http://127.0.0.1:1456/oauth-callback?error=access_denied&error_description=User+denied&state=s1",
            AuthInvalidError,
        ),
        ("http://127.0.0.1:1456/oauth-callback?state=s1", BadRequestError),
    ],
)
def test_code_from_callback(url: str, error: type[Exception] | None) -> None:
    if error is None:
        assert code_from_callback(url, "s1") == "abc"
    else:
        with pytest.raises(error):
            code_from_callback(url, "s1")


@pytest.mark.parametrize(
    "pasted",
    ["asdf", "", "\n", "cpk_0123.4567", "https://chutes.ai/", "127.0.0.1:1456/oauth-callback?code=abc"],
)
def test_something_that_is_not_a_redirect_says_so_and_shows_the_form(pasted: str) -> None:
    """Garbage pasted at `login --no-browser` is not "a state mismatch": the message says what to paste."""
    with pytest.raises(BadRequestError) as caught:
        code_from_callback(pasted, "s1", "http://127.0.0.1:1456/oauth-callback")
    assert "is not the redirect URL of a sign-in" in caught.value.message
    assert "http://127.0.0.1:1456/oauth-callback?code=...&state=..." in caught.value.hint


def test_token_store_writes_0600_atomically_and_round_trips(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "nested" / "oauth-token.json")
    assert store.load() is None
    tokens = TokenSet(
        access_token=SecretStr("cak_x"),
        refresh_token=SecretStr("crt_y"),
        expires_at=123.0,
        client_id="cid_abc",
    )
    store.save(tokens)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load() == tokens
    store.save(tokens.model_copy(update={"refresh_token": SecretStr("crt_z")}))
    loaded = store.load()
    assert loaded is not None
    assert loaded.refresh_token == SecretStr("crt_z")
    assert [p.name for p in store.path.parent.iterdir()] == ["oauth-token.json"]  # no temp files left
    assert store.delete() is True
    assert store.delete() is False


def test_expiry_skew() -> None:
    tokens = TokenSet(access_token=SecretStr("cak_x"), expires_at=1000.0, client_id="c")
    assert tokens.expires_soon(now=900.0) is False
    assert tokens.expires_soon(now=950.0) is True
