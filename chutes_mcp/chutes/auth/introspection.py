"""Is this Chutes access token good, and whose is it? Token introspection (RFC 7662) at the Chutes IdP,
with the answers kept in a cache until shortly before each token expires.

A server whose callers sign in with Chutes asks this for every bearer token it is shown. The cache keeps a
token's answer under a digest of the token (never the token itself), so a cache shared by replicas (Redis)
holds nothing a reader could call Chutes with.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
import httpx2

from chutes_mcp.chutes.errors import ChutesTimeoutError, NetworkError, UpstreamError
from chutes_mcp.chutes.http.error_bodies import error_from_response

INTROSPECTION_TIMEOUT_S = 10.0
# A token's good answer is trusted until this long before it expires, so a clock a little ahead of
# Chutes' never lets an expired token through.
EXPIRY_MARGIN_S = 60.0
# How long "not active" is remembered: a dead token never comes back to life, so this only bounds how
# often a client that keeps sending one makes this server ask Chutes again.
INACTIVE_TTL_S = 30.0
# Chutes' access tokens are 89 characters (`cak_<uuid>.<48 alnum>`); anything much longer, or not plain
# printable ASCII, is refused without asking Chutes.
MAX_TOKEN_CHARS = 512
_INACTIVE = '{"active":false}'


class TokenCache(Protocol):
    """Where introspection answers wait between calls: this process, or a store replicas share
    (`chutes_mcp.shared.cache`: `InProcessCache`, `RedisCache`).

    Keys are digests of tokens and values opaque text; an entry is gone after its `ttl_s`.
    """

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, ttl_s: float) -> None: ...


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """An active access token as Chutes describes it: whose it is, for which app, allowed to do what."""

    user_id: str
    username: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float | None

    def to_json(self) -> str:
        return json.dumps(
            {
                "active": True,
                "sub": self.user_id,
                "username": self.username,
                "client_id": self.client_id,
                "scope": " ".join(sorted(self.scopes)),
                "exp": self.expires_at,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> TokenGrant | None:
        """The grant an introspection answer describes; None when the token is not active."""
        payload: Any = json.loads(text)
        return _grant(payload)


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _plausible(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN_CHARS and token.isascii() and token.isprintable() and " " not in token


def _grant(payload: Any) -> TokenGrant | None:
    """The grant in an introspection answer, None for an inactive token; UpstreamError for an answer
    that is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("active"), bool):
        raise UpstreamError(
            "Chutes' token introspection answered without an `active` verdict", retryable=True
        )
    # A refresh token is active too, but no bearer: Chutes would refuse it for inference.
    if not payload["active"] or payload.get("token_type", "access_token") != "access_token":
        return None
    subject = payload.get("sub")
    if not isinstance(subject, str) or not subject:
        raise UpstreamError("Chutes' token introspection named no user (`sub`) for a token", retryable=True)
    scope, expires = payload.get("scope"), payload.get("exp")
    return TokenGrant(
        user_id=subject,
        username=str(payload.get("username") or ""),
        client_id=str(payload.get("client_id") or ""),
        scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
        expires_at=float(expires)
        if isinstance(expires, int | float) and not isinstance(expires, bool)
        else None,
    )


class TokenIntrospector:
    """Asks the Chutes IdP about bearer tokens (`POST /idp/token/introspect`), through a cache."""

    def __init__(self, http: httpx2.AsyncClient, management_base: str, cache: TokenCache) -> None:
        self._http = http
        self._url = f"{management_base}/idp/token/introspect"
        self._cache = cache

    async def grant(self, token: str) -> TokenGrant | None:
        """The token's grant, or None when Chutes does not know it as a live access token.

        Raises a `ChutesError` when Chutes cannot be asked (network, timeout, an error status): that says
        nothing about the token, so the caller must not turn it into a refusal.
        """
        if not _plausible(token):
            return None
        key = token_key(token)
        cached = await self._cache.get(key)
        if cached is not None:
            return TokenGrant.from_json(cached)
        grant = await self._introspect(token)
        if grant is None:
            await self._cache.put(key, _INACTIVE, INACTIVE_TTL_S)
        elif grant.expires_at is not None:
            await self._cache.put(key, grant.to_json(), grant.expires_at - time.time() - EXPIRY_MARGIN_S)
        return grant

    async def refused(self, token: str) -> None:
        """Chutes refused `token` on a call (revoked since it was cached, say): stop accepting it here."""
        await self._cache.put(token_key(token), _INACTIVE, INACTIVE_TTL_S)

    async def _introspect(self, token: str) -> TokenGrant | None:
        try:
            with anyio.fail_after(INTROSPECTION_TIMEOUT_S):
                response = await self._http.post(self._url, data={"token": token})
        except TimeoutError:
            raise ChutesTimeoutError(
                f"Chutes' token introspection did not answer within {INTROSPECTION_TIMEOUT_S:g} s"
            ) from None
        except httpx2.TransportError as exc:
            raise NetworkError.from_transport(exc, "calling Chutes' token introspection") from None
        if response.status_code != 200:
            raise error_from_response(response.status_code, response.content, response.headers)
        try:
            payload: Any = response.json()
        except ValueError:
            raise UpstreamError(
                "Chutes' token introspection answered with a body that is not JSON", retryable=True
            ) from None
        return _grant(payload)
