"""Sign in with Chutes: OAuth 2.0 authorization code with PKCE (S256), token storage, refresh, revoke.

The IdP lives on the management host under `/idp`. Refresh tokens rotate: every refresh returns a new
one and the old one is dead, so the new pair is written to disk before it is used.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import stat
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import anyio
import anyio.abc
import httpx2
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, field_validator

from chutes_mcp.chutes.auth.sendable import unsendable_part
from chutes_mcp.chutes.errors import (
    AuthInvalidError,
    BadRequestError,
    ChutesError,
    NetworkError,
)
from chutes_mcp.chutes.http.error_bodies import error_from_response
from chutes_mcp.config import Settings
from chutes_mcp.log import get_logger

REFRESH_SKEW_S = 60.0
LOGIN_TIMEOUT_S = 300.0
_MAX_REQUEST_BYTES = 16384
_CALLBACK_PAGE = (
    b"<!doctype html><html><head><title>chutes-mcp</title></head><body>"
    b"<h1>Signed in with Chutes</h1><p>You can close this tab and return to the terminal.</p></body></html>"
)

log = get_logger(__name__)


class TokenSet(BaseModel):
    """What the token endpoint granted, with the absolute expiry time and the client it belongs to."""

    # An expiry of NaN would never come due, and one of infinity never be refreshed.
    model_config = ConfigDict(allow_inf_nan=False)

    access_token: SecretStr
    refresh_token: SecretStr | None = None
    expires_at: float
    scope: str = ""
    client_id: str

    @field_validator("access_token")
    @classmethod
    def _sendable(cls, value: SecretStr) -> SecretStr:
        problem = unsendable_part(value.get_secret_value())
        if problem is not None:
            raise ValueError(f"has {problem}, so it cannot be sent in a header")
        return value

    def expires_soon(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) >= self.expires_at - REFRESH_SKEW_S


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """The registered app this process signs in as, and where the IdP lives."""

    idp_base: str
    client_id: str
    client_secret: SecretStr | None
    redirect_uri: str
    scopes: str

    @classmethod
    def from_settings(cls, settings: Settings, client_id: str | None = None) -> OAuthApp:
        client_id = client_id or settings.client_id
        if not client_id:
            raise AuthInvalidError(
                "no OAuth client id configured",
                hint="Set CHUTES_CLIENT_ID to your app's id (cid_…); register an app with POST /idp/apps.",
            )
        return cls(
            idp_base=f"{settings.management_base}/idp",
            client_id=client_id,
            client_secret=settings.client_secret,
            redirect_uri=settings.oauth_redirect_uri,
            scopes=settings.oauth_scopes,
        )


class TokenFileError(AuthInvalidError):
    """The sign-in token file is there but cannot be used. Never taken for "not signed in": that would
    send the calls out without the credential the user set up, and blame something else."""

    @classmethod
    def unusable(cls, path: Path, reason: str, hint: str | None = None) -> TokenFileError:
        return cls(
            f"the sign-in token file {path} cannot be used: {reason}",
            hint=hint
            or f"Run `chutes-mcp logout` to remove {path}, then `chutes-mcp login` to sign in again; "
            "or set CHUTES_API_KEY to use an API key instead.",
        )


def _what_is_wrong(exc: ValidationError) -> str:
    """The token file's problem in words, from pydantic's errors without their input (the tokens)."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    if errors[0]["type"] == "json_invalid":
        return f"it is not JSON ({errors[0]['msg']})"
    if errors[0]["type"] == "model_type":
        return "it is JSON, but not the object of tokens that `chutes-mcp login` writes"
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg'].removeprefix('Value error, ')}"
        for error in errors
    )


class TokenStore:
    """One JSON file, mode 0600, replaced atomically so a crash never leaves half a token behind."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenSet | None:
        """The stored tokens; None when there is no file (nobody signed in); `TokenFileError` when there
        is one that cannot be used."""
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenFileError.unusable(
                self.path, f"its path cannot be followed ({exc.strerror})"
            ) from None
        if stat.S_ISDIR(mode):
            raise self._directory()
        if not stat.S_ISREG(mode):
            # A FIFO would block the read for as long as nobody writes to it.
            raise TokenFileError.unusable(self.path, "it is not a regular file")
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise TokenFileError.unusable(self.path, f"it cannot be read ({exc.strerror})") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TokenFileError.unusable(self.path, "it is not UTF-8 text") from None
        try:
            return TokenSet.model_validate_json(text)
        except ValidationError as exc:
            raise TokenFileError.unusable(self.path, _what_is_wrong(exc)) from None

    def _directory(self) -> TokenFileError:
        return TokenFileError.unusable(
            self.path,
            "it is a directory",
            hint=f"Move the directory {self.path} out of the way (chutes-mcp keeps its sign-in tokens in "
            "a file of that name), then run `chutes-mcp login`; or set CHUTES_TOKEN_FILE to another path.",
        )

    def save(self, tokens: TokenSet) -> None:
        try:
            self._write(tokens)
        except IsADirectoryError:
            raise self._directory() from None
        except OSError as exc:
            raise TokenFileError.unusable(
                self.path,
                f"it cannot be written ({exc.strerror})",
                hint=f"Make {self.path.parent} writable by this user, or set CHUTES_TOKEN_FILE to a path "
                "that is; then run `chutes-mcp login`.",
            ) from None

    def _write(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = {
            "access_token": tokens.access_token.get_secret_value(),
            "refresh_token": tokens.refresh_token.get_secret_value() if tokens.refresh_token else None,
            "expires_at": tokens.expires_at,
            "scope": tokens.scope,
            "client_id": tokens.client_id,
        }
        # mkstemp creates the file 0600 from the start, so the token is never readable by others.
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".oauth-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise

    def delete(self) -> bool:
        """Remove the file (a symbolic link itself, not what it points to); False when there was none."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except IsADirectoryError:
            raise self._directory() from None
        return True


def new_pkce_pair() -> tuple[str, str]:
    """A code verifier (43 url-safe characters) and its S256 challenge."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(app: OAuthApp, *, redirect_uri: str, state: str, challenge: str) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "scope": app.scopes,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{app.idp_base}/authorize?{query}"


def code_from_callback(callback_url: str, expected_state: str, redirect_uri: str = "") -> str:
    """The authorization code from the redirect the browser landed on (pasted or received)."""
    pasted = callback_url.strip()
    parts = urlsplit(pasted)
    params = parse_qs(parts.query)
    if parts.scheme not in ("http", "https") or not ({"code", "state", "error"} & params.keys()):
        shown = f"{pasted[:60]!r}{'…' if len(pasted) > 60 else ''}" if pasted else "nothing"
        expected = redirect_uri or "http://127.0.0.1:<port>/<path>"
        raise BadRequestError(
            f"{shown} is not the redirect URL of a sign-in",
            hint=f"After approving in the browser, copy the whole address it was sent to: {expected}"
            "?code=...&state=... (the page itself may fail to load; the address is what counts).",
        )
    if "error" in params:
        error = params["error"][0]
        description = params.get("error_description", [""])[0]
        raise AuthInvalidError(
            f"sign-in refused: {error} {description}".strip(),
            hint="Run `chutes-mcp login` again and approve the request; check CHUTES_OAUTH_SCOPES.",
        )
    if params.get("state", [""])[0] != expected_state:
        raise AuthInvalidError(
            "the redirect's state does not match this login attempt",
            hint="Paste the URL of the most recent login attempt, or run `chutes-mcp login` again.",
        )
    code = params.get("code", [""])[0]
    if not code:
        raise BadRequestError(
            "the redirect URL has no code parameter",
            hint="Paste the full URL the browser was sent to, starting with http://127.0.0.1.",
        )
    return code


class OAuthClient:
    """Calls to the IdP's token and revocation endpoints."""

    def __init__(self, http: httpx2.AsyncClient, app: OAuthApp) -> None:
        self._http = http
        self.app = app

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> TokenSet:
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        )

    async def refresh(self, refresh_token: SecretStr) -> TokenSet:
        tokens = await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token.get_secret_value()}
        )
        # An IdP that does not rotate keeps the old refresh token valid.
        return tokens if tokens.refresh_token else tokens.model_copy(update={"refresh_token": refresh_token})

    async def revoke(self, token: SecretStr) -> None:
        await self._post("token/revoke", {"token": token.get_secret_value()})

    async def _token_request(self, form: dict[str, str]) -> TokenSet:
        response = await self._post("token", form)
        try:
            payload: Any = response.json()
            return TokenSet(
                access_token=payload["access_token"],
                refresh_token=payload.get("refresh_token"),
                expires_at=time.time() + float(payload.get("expires_in", 3600)),
                scope=str(payload.get("scope", "")),
                client_id=self.app.client_id,
            )
        except (ValueError, KeyError, TypeError, ValidationError):
            raise AuthInvalidError("the token endpoint answered without a usable access token") from None

    async def _post(self, endpoint: str, form: dict[str, str]) -> httpx2.Response:
        form = {**form, "client_id": self.app.client_id}
        if self.app.client_secret is not None:
            form["client_secret"] = self.app.client_secret.get_secret_value()
        url = httpx2.URL(f"{self.app.idp_base}/{endpoint}")
        try:
            response = await self._http.post(url, data=form)
        except httpx2.TransportError as exc:
            raise NetworkError.from_transport(exc, "calling the Chutes IdP", url=url) from None
        if response.status_code >= 400:
            error = error_from_response(response.status_code, response.content, response.headers)
            if response.status_code == 400:  # RFC 6749: invalid_grant, invalid_client, …
                raise AuthInvalidError(error.message, status=400) from None
            raise error
        return response


def _with_port(uri: str, port: int) -> str:
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))


class _CallbackServer:
    """A one-shot HTTP listener on the loopback redirect URI that captures the browser's redirect."""

    def __init__(self, listener: anyio.abc.Listener[anyio.abc.SocketStream], path: str) -> None:
        self._listener = listener
        self._path = path
        self.received = anyio.Event()
        self.callback_url = ""

    @classmethod
    async def bind(cls, redirect_uri: str) -> tuple[_CallbackServer, str]:
        """Listen on the redirect URI's host and port (0 picks a free one); returns the real URI."""
        parts = urlsplit(redirect_uri)
        listener = await anyio.create_tcp_listener(
            local_host=parts.hostname or "127.0.0.1", local_port=parts.port or 0
        )
        port = listener.listeners[0].extra(anyio.abc.SocketAttribute.local_port)
        return cls(listener, parts.path or "/"), _with_port(redirect_uri, port)

    async def wait_for_redirect(self, timeout_s: float) -> str:
        """Serve until the redirect arrives or the time is up; '' when it did not come."""
        async with self._listener, anyio.create_task_group() as group:
            group.start_soon(self._listener.serve, self._handle, group)
            with anyio.move_on_after(timeout_s):
                await self.received.wait()
            group.cancel_scope.cancel()
        return self.callback_url

    async def aclose(self) -> None:
        await self._listener.aclose()

    async def _handle(self, stream: anyio.abc.SocketStream) -> None:
        async with stream:
            request = b""
            with anyio.move_on_after(10):
                while b"\r\n\r\n" not in request and len(request) < _MAX_REQUEST_BYTES:
                    chunk = await stream.receive()
                    request += chunk
            target = request.split(b"\r\n", 1)[0].split(b" ")
            path = target[1].decode("latin-1") if len(target) >= 2 else ""
            if urlsplit(path).path != self._path:
                await stream.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(_CALLBACK_PAGE)}\r\n"
            await stream.send(head.encode() + b"Connection: close\r\n\r\n" + _CALLBACK_PAGE)
            self.callback_url = f"http://127.0.0.1{path}"
            self.received.set()


OpenBrowser = Callable[[str], Awaitable[bool]]
AskPastedUrl = Callable[[str], Awaitable[str]]


async def login(
    http: httpx2.AsyncClient,
    settings: Settings,
    *,
    open_browser: OpenBrowser,
    ask_pasted_url: AskPastedUrl,
    headless: bool = False,
) -> TokenSet:
    """Run the browser flow (or the headless paste flow) and store the tokens; returns them."""
    app = OAuthApp.from_settings(settings)
    verifier, challenge = new_pkce_pair()
    state = secrets.token_urlsafe(24)
    server: _CallbackServer | None = None
    redirect_uri = app.redirect_uri
    if not headless:
        try:
            server, redirect_uri = await _CallbackServer.bind(app.redirect_uri)
        except OSError as exc:
            log.warning("oauth.callback_bind_failed", redirect_uri=app.redirect_uri, error=exc.strerror)
    url = authorize_url(app, redirect_uri=redirect_uri, state=state, challenge=challenge)
    callback_url = ""
    if server is not None:
        try:
            async with anyio.create_task_group() as group:
                group.start_soon(server.wait_for_redirect, LOGIN_TIMEOUT_S)
                if not await open_browser(url):
                    group.cancel_scope.cancel()
        finally:
            await server.aclose()
        callback_url = server.callback_url
    if not callback_url:
        callback_url = await ask_pasted_url(url)
    code = code_from_callback(callback_url, state, redirect_uri)
    tokens = await OAuthClient(http, app).exchange_code(code, verifier, redirect_uri)
    TokenStore(settings.token_path).save(tokens)
    log.info("oauth.login_complete", scope=tokens.scope, token_file=str(settings.token_path))
    return tokens


async def logout(http: httpx2.AsyncClient, settings: Settings) -> bool:
    """Revoke the stored tokens (best effort) and delete the file; False when nobody was signed in.

    A file that cannot be used is removed all the same (there is nothing in it to revoke), so that
    logging out is the way out of a broken one."""
    store = TokenStore(settings.token_path)
    try:
        tokens = store.load()
    except TokenFileError as exc:
        log.warning("oauth.removing_unusable_token_file", detail=exc.message)
        tokens = None
    if tokens is not None:
        client = OAuthClient(http, OAuthApp.from_settings(settings, client_id=tokens.client_id))
        for token in (tokens.refresh_token, tokens.access_token):
            if token is None:
                continue
            try:
                await client.revoke(token)
            except ChutesError as exc:
                log.warning("oauth.revoke_failed", code=exc.code)
    return store.delete() or tokens is not None
