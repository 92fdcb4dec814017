"""Bring-your-own-key hosting: each request's Chutes credential comes from the request itself.

A tenant is one Chutes credential. It gets its own `ChutesClient` (so its own rate limiter and circuit
breakers: one tenant's 429s never slow another) over the process's one HTTP pool. Credentials are held
only in memory, keyed by a digest, and dropped least-recently-used.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping

import httpx2
from pydantic import SecretStr

from chutes_mcp.chutes.auth.credentials import StaticToken
from chutes_mcp.chutes.auth.sendable import unsendable_part
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import AuthInvalidError
from chutes_mcp.config import Settings

TENANT_HEADER = "x-chutes-api-key"
MAX_TENANTS = 1024


class Tenants:
    def __init__(self, settings: Settings, http: httpx2.AsyncClient, *, bearer_is_key: bool) -> None:
        self._settings = settings
        self._http = http
        # Without server auth, `Authorization: Bearer <chutes key>` is the natural way to send the key.
        self._bearer_is_key = bearer_is_key
        self._clients: OrderedDict[bytes, ChutesClient] = OrderedDict()

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
        digest = hashlib.sha256(key.encode()).digest()
        client = self._clients.get(digest)
        if client is None:
            client = ChutesClient(
                self._settings, http=self._http, credentials=StaticToken(SecretStr(key), "api_key")
            )
            self._clients[digest] = client
            if len(self._clients) > MAX_TENANTS:
                self._clients.popitem(last=False)
        else:
            self._clients.move_to_end(digest)
        return client
