"""Where the bearer token comes from: an API key, an OAuth token from the environment, or the
token file written by `chutes-mcp login` (refreshed before it expires and once after a 401)."""

from __future__ import annotations

import re
from typing import Protocol

import anyio
import httpx2
from pydantic import SecretStr

from chutes_mcp.chutes.auth.oauth import OAuthApp, OAuthClient, TokenFileError, TokenSet, TokenStore
from chutes_mcp.chutes.auth.sendable import unsendable_part
from chutes_mcp.chutes.errors import AuthInvalidError
from chutes_mcp.config import Settings
from chutes_mcp.log import get_logger

API_KEY_RE = re.compile(r"^cpk_[a-f0-9]{32}\.[a-f0-9]{32}\.[a-zA-Z0-9]{32}$")

log = get_logger(__name__)


class Credentials(Protocol):
    kind: str
    """`api_key`, `oauth_env`, `oauth_file` or `none`: safe to show, never the secret itself."""

    async def bearer(self) -> str | None:
        """The token to send now, refreshed first if it is about to expire."""
        ...

    async def after_unauthorized(self, rejected: str) -> str | None:
        """A new token to retry once with after `rejected` got a 401, or None when there is none."""
        ...


class NoCredentials:
    kind = "none"

    async def bearer(self) -> str | None:
        return None

    async def after_unauthorized(self, rejected: str) -> str | None:
        return None


# Where each kind of static credential is set, and how to set it right, for the error that says it
# cannot be sent.
_STATIC_SOURCES = {
    "api_key": (
        "CHUTES_API_KEY",
        "A Chutes API key is plain ASCII (cpk_…): copy it again from chutes.ai > API keys; a character "
        "like this one usually comes with a copy (a curly quote, a non-breaking space, a line break).",
    ),
    "oauth_env": (
        "CHUTES_OAUTH_TOKEN",
        "Set CHUTES_OAUTH_TOKEN to the access token exactly as it was issued (plain ASCII), or unset it "
        "and run `chutes-mcp login`.",
    ),
}


class StaticToken:
    """An API key or an OAuth access token given in the environment: sent as is, never refreshed.

    One that no header can carry fails each call that needs it with `auth_invalid`, saying where it was
    set; the calls that need no credential go on without it."""

    def __init__(self, secret: SecretStr, kind: str) -> None:
        self._secret = secret
        self.kind = kind
        problem = unsendable_part(secret.get_secret_value())
        source, hint = _STATIC_SOURCES.get(kind, ("the credential", None))
        self._hint: str | None = hint
        self._unsendable = None if problem is None else f"{source} has {problem}, so it cannot be sent"

    async def bearer(self) -> str | None:
        if self._unsendable is not None:
            raise AuthInvalidError(self._unsendable, hint=self._hint)
        return self._secret.get_secret_value()

    async def after_unauthorized(self, rejected: str) -> str | None:
        return None


class UnusableTokenFile:
    """A login token file that is there but cannot be used: each call that needs the credential is told
    why and how to fix it; the calls that need none go on without it."""

    kind = "oauth_file"

    def __init__(self, error: TokenFileError) -> None:
        self._message = error.message
        self._hint = error.hint

    async def bearer(self) -> str | None:
        # A fresh error each time: the retry loop and the tools write to the one they are given.
        raise TokenFileError(self._message, hint=self._hint)

    async def after_unauthorized(self, rejected: str) -> str | None:
        return None


class StoredOAuthTokens:
    """Tokens from `chutes-mcp login`; one refresh at a time, and every rotated pair saved to disk."""

    kind = "oauth_file"

    def __init__(self, store: TokenStore, tokens: TokenSet, client: OAuthClient) -> None:
        self._store = store
        self._tokens = tokens
        self._client = client
        self._lock = anyio.Lock()

    async def bearer(self) -> str | None:
        if self._tokens.expires_soon():
            async with self._lock:
                if self._tokens.expires_soon():
                    await self._refresh()
        return self._tokens.access_token.get_secret_value()

    async def after_unauthorized(self, rejected: str) -> str | None:
        async with self._lock:
            if self._tokens.access_token.get_secret_value() == rejected:
                await self._refresh()
            # else another call refreshed while this one was in flight: use its token.
            return self._tokens.access_token.get_secret_value()

    async def _refresh(self) -> None:
        if self._tokens.refresh_token is None:
            raise AuthInvalidError(
                "the stored access token expired and there is no refresh token",
                hint="Run `chutes-mcp login` again.",
            )
        try:
            tokens = await self._client.refresh(self._tokens.refresh_token)
        except AuthInvalidError as exc:
            raise AuthInvalidError(
                f"could not refresh the Chutes sign-in: {exc.message}",
                status=exc.status,
                hint="The sign-in expired or was revoked; run `chutes-mcp login` again.",
            ) from None
        # Saved before use: the old refresh token is already dead once the IdP rotated it.
        self._store.save(tokens)
        self._tokens = tokens
        log.info("oauth.refreshed", expires_at=tokens.expires_at)


def credentials_from_settings(settings: Settings, http: httpx2.AsyncClient) -> Credentials:
    """API key first, then an OAuth token from the environment, then the login token file."""
    if settings.api_key is not None:
        key = settings.api_key.get_secret_value()
        if unsendable_part(key) is None and not API_KEY_RE.match(key):
            log.warning(
                "auth.api_key_unusual",
                detail="CHUTES_API_KEY does not look like a Chutes key (cpk_<32 hex>.<32 hex>.<32 alnum>); "
                "sending it anyway",
            )
        return StaticToken(settings.api_key, "api_key")
    if settings.oauth_token is not None:
        return StaticToken(settings.oauth_token, "oauth_env")
    store = TokenStore(settings.token_path)
    try:
        tokens = store.load()
    except TokenFileError as exc:
        log.warning("oauth.token_file_unusable", detail=exc.message)
        return UnusableTokenFile(exc)
    if tokens is not None:
        app = OAuthApp.from_settings(settings, client_id=tokens.client_id)
        return StoredOAuthTokens(store, tokens, OAuthClient(http, app))
    return NoCredentials()
