"""Sign in with Chutes for remote connectors (claude.ai, ChatGPT, VS Code, Claude Code over HTTP).

With `--auth chutes` this server is an OAuth 2.1 protected resource whose authorization server is the
Chutes IdP. It publishes protected-resource metadata (RFC 9728) naming the IdP and the `chutes:invoke`
scope, answers a request without a good token with 401 and a `WWW-Authenticate` that points there, and
accepts a bearer token when Chutes' own introspection says it is live and may invoke. That token is then
the caller's own Chutes credential for the call, so the operator never holds a user's key and each user
spends their own account.

The SDK plays the resource server (`TokenVerifier`, `AuthSettings`: the 401/403 answers and the
metadata at the path-inserted well-known URL). This module adds the verifier, the same metadata at the
root well-known URL (the fallback clients try), and a 503 instead of a 401 while Chutes cannot be asked
about a token: a 401 would send every connected user through sign-in again, for an outage that signing
in cannot fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.routes import cors_middleware
from mcp.server.auth.settings import AuthSettings
from mcp.shared.auth import ProtectedResourceMetadata
from starlette.types import ASGIApp, Receive, Scope, Send

from chutes_mcp.chutes.auth.introspection import TokenIntrospector
from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.log import get_logger

INVOKE_SCOPE = "chutes:invoke"
# Scopes that Chutes also accepts for invoking any chute (reference §6.3), so a token holding one may
# call tools here too.
_INVOKE_EQUIVALENTS = frozenset({"invoke", "admin"})
ROOT_METADATA_PATH = "/.well-known/oauth-protected-resource"
RETRY_AFTER_S = 5

log = get_logger(__name__)


class ChutesTokenVerifier(TokenVerifier):
    """A bearer is good when Chutes says it is a live access token; its scopes decide what it may do
    (the SDK answers 403 `insufficient_scope` to one without `chutes:invoke`)."""

    def __init__(self, introspector: Callable[[], TokenIntrospector], issuer: str) -> None:
        self._introspector = introspector
        self._issuer = issuer

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            grant = await self._introspector().grant(token)
        except ChutesError:
            # `SignInFront` already answered 503 when Chutes could not be asked; only an outage that
            # began between its question and this one ends here.
            return None
        if grant is None:
            return None
        scopes = set(grant.scopes)
        if scopes & _INVOKE_EQUIVALENTS:
            scopes.add(INVOKE_SCOPE)
        return AccessToken(
            token=token,
            client_id=grant.client_id,
            scopes=sorted(scopes),
            expires_at=int(grant.expires_at) if grant.expires_at is not None else None,
            subject=grant.user_id,
            claims={"iss": self._issuer, "username": grant.username},
        )


class ChutesSignIn:
    """Everything `--auth chutes` adds to the HTTP server, for one public URL and one Chutes IdP."""

    def __init__(self, *, resource_url: str, issuer: str, path: str) -> None:
        # Chutes' tokens name no audience (its IdP ignores RFC 8707's `resource`), and one is only ever
        # used as its user's credential at Chutes, which checks it on every call: nothing to match here.
        # URLs passed as text: the SDK's models keep a bare origin as given, where `AnyHttpUrl(...)` adds
        # a slash, and clients compare the issuer with the IdP's own as plain strings (RFC 8414 §3.3).
        self.auth_settings = AuthSettings(
            issuer_url=issuer,
            resource_server_url=resource_url,
            required_scopes=[INVOKE_SCOPE],
            validate_token_resource=False,
        )
        self.verifier = ChutesTokenVerifier(self._current_introspector, issuer)
        # The document the SDK serves at the path-inserted URL, built from the same settings.
        self.metadata = ProtectedResourceMetadata(
            resource=resource_url, authorization_servers=[issuer], scopes_supported=[INVOKE_SCOPE]
        )
        self._path = path
        self._resource_path = urlsplit(resource_url).path.rstrip("/")
        self._introspector: TokenIntrospector | None = None

    @contextmanager
    def serving(self, introspector: TokenIntrospector) -> Iterator[None]:
        """While the server runs: tokens are checked with the runtime's introspector (and its cache)."""
        self._introspector = introspector
        try:
            yield
        finally:
            self._introspector = None

    def _current_introspector(self) -> TokenIntrospector:
        if self._introspector is None:
            raise RuntimeError("the server is not serving: its lifespan has not started or has ended")
        return self._introspector

    def front(self, app: ASGIApp) -> ASGIApp:
        # With a root resource URL, the SDK's own route is the root one already.
        root = cors_middleware(ProtectedResourceMetadataHandler(self.metadata).handle, ["GET", "OPTIONS"])
        return SignInFront(
            app,
            path=self._path,
            introspector=self._current_introspector,
            root_metadata=root if self._resource_path else None,
        )


def _bearer(scope: Scope) -> str | None:
    """The bearer token as the SDK's `BearerAuthBackend` reads it, so both look up the same token."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = str(value.decode("latin-1"))
            return header[7:] if header.lower().startswith("bearer ") else None
    return None


async def _unavailable(send: Send, error: ChutesError) -> None:
    body = json.dumps(
        {
            "error": "temporarily_unavailable",
            "error_description": "Chutes cannot confirm the sign-in right now "
            f"({error.code}); try again in a few seconds.",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_S).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SignInFront:
    """In front of the SDK's app: the root metadata document, and 503 when a token cannot be checked.

    A bearer on the MCP endpoint is put to Chutes here first; the answer waits in the introspector's
    cache for the SDK's verifier, which runs next and cannot answer anything but 401 or 403.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        introspector: Callable[[], TokenIntrospector],
        root_metadata: ASGIApp | None,
    ) -> None:
        self.app = app
        self._path = path
        self._introspector = introspector
        self._root_metadata = root_metadata

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if (
                self._root_metadata is not None
                and scope["path"] == ROOT_METADATA_PATH
                and scope["method"] in ("GET", "HEAD", "OPTIONS")
            ):
                await self._root_metadata(scope, receive, send)
                return
            token = _bearer(scope) if scope["path"] == self._path else None
            if token is not None:
                try:
                    await self._introspector().grant(token)
                except ChutesError as error:
                    log.warning(
                        "sign_in.unavailable", code=error.code, status=error.status, error=error.message
                    )
                    await _unavailable(send, error)
                    return
        await self.app(scope, receive, send)
