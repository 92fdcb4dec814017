"""Bring-your-own-key hosting: each request's Chutes credential comes from the request itself.

A tenant is one Chutes credential, or one user signed in with Chutes (whatever token their client holds
at the moment). It gets its own `ChutesClient` (so its own rate limiter and circuit breakers: one tenant's
429s never slow another) over the process's one HTTP pool. Credentials are held only in memory, keyed by
a digest, and dropped least-recently-used; with Redis, a tenant's limit and breakers live there, shared
by the replicas, and a dropped client loses none of them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping

import httpx2
from pydantic import SecretStr

from chutes_mcp.chutes.auth.credentials import Credentials, NoCredentials, StaticToken
from chutes_mcp.chutes.auth.introspection import TokenIntrospector
from chutes_mcp.chutes.auth.sendable import unsendable_part
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import AuthInvalidError
from chutes_mcp.config import Settings
from chutes_mcp.shared.redis_store import RedisStore

TENANT_HEADER = "x-chutes-api-key"
MAX_TENANTS = 1024


class SignedInToken:
    """The access token a signed-in user's request was accepted with, sent as it is. When Chutes refuses
    it (revoked since this server cached its introspection, say), this server stops accepting it too, so
    the user's next request gets the 401 that makes their client sign in again."""

    kind = "oauth_sign_in"

    def __init__(self, token: SecretStr, introspector: TokenIntrospector) -> None:
        self._token = token
        self._introspector = introspector

    async def bearer(self) -> str | None:
        return self._token.get_secret_value()

    async def after_unauthorized(self, rejected: str) -> str | None:
        await self._introspector.refused(rejected)
        raise AuthInvalidError(
            "Chutes refused this sign-in: it was revoked or has expired",
            status=401,
            hint="Reconnect to this server in your MCP client to sign in with Chutes again.",
        )


class Tenants:
    def __init__(
        self,
        settings: Settings,
        http: httpx2.AsyncClient,
        *,
        bearer_is_key: bool,
        introspector: TokenIntrospector | None = None,
        store: RedisStore | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._store = store
        # Without server auth, `Authorization: Bearer <chutes key>` is the natural way to send the key.
        self._bearer_is_key = bearer_is_key
        self._introspector = introspector
        self._clients: OrderedDict[bytes, ChutesClient] = OrderedDict()

    @property
    def signed_in(self) -> bool:
        """Whether callers are users signed in with Chutes (`for_user`), rather than keys (`client`)."""
        return self._introspector is not None

    def credential(self, headers: Mapping[str, str] | None) -> str:
        headers = headers or {}
        key = headers.get(TENANT_HEADER, "").strip()
        carrier = "X-Chutes-Api-Key header"
        if not key and self._bearer_is_key:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else ""
            carrier = "Authorization header's bearer token"
        if not key:
            raise AuthInvalidError(
                "this server takes each caller's own Chutes key, and the request carried none",
                hint="Send your Chutes API key in the X-Chutes-Api-Key header"
                + (" (or as Authorization: Bearer)." if self._bearer_is_key else "."),
            )
        problem = unsendable_part(key)
        if problem is not None:
            # Refused here, before it names a tenant: Chutes could never be sent it.
            raise AuthInvalidError(
                f"the Chutes key in the {carrier} has {problem}, so it cannot be sent to Chutes",
                hint="Send your Chutes API key (cpk_…, plain ASCII) exactly as chutes.ai shows it; a "
                "character like this one usually comes with a copy (a curly quote, a non-breaking space).",
            )
        return key

    def client(self, key: str) -> ChutesClient:
        return self._tenant(key.encode(), StaticToken(SecretStr(key), "api_key"))

    def for_user(self, user_id: str, token: str) -> ChutesClient:
        """A signed-in user's client for one call: the user's own rate limiter and breakers, kept across
        the tokens their client refreshes to, calling Chutes with the token this request came with."""
        if self._introspector is None:
            raise RuntimeError("for_user needs a server whose callers sign in with Chutes")
        # The NUL keeps a user's entry apart from any key's: a header value holds none.
        tenant = self._tenant(b"user\0" + user_id.encode(), NoCredentials())
        return tenant.with_credentials(SignedInToken(SecretStr(token), self._introspector))

    def _tenant(self, identity: bytes, credentials: Credentials) -> ChutesClient:
        digest = hashlib.sha256(identity).digest()
        client = self._clients.get(digest)
        if client is None:
            client = ChutesClient(
                self._settings,
                http=self._http,
                credentials=credentials,
                store=self._store,
                identity=identity.decode(),
            )
            self._clients[digest] = client
            if len(self._clients) > MAX_TENANTS:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(digest)
        return client
