"""Sign in with Chutes (reference §6.3): the api host's OAuth 2.0 IdP, PKCE, rotating refresh tokens.

Differences from the real IdP, all so that tests and demos need no browser and no app registration:
- any client id of the real shape `cid_<24 lowercase alnum>` is a registered app (e.g. `DEMO_CLIENT_ID`),
  any secret of the real shape `csc_<48 alnum>` is its secret, and every loopback `http` or any
  `https` redirect URI is registered for it;
- `/idp/authorize` shows no login page: it approves at once, as the simulator's OAuth user, or as the
  user named by `login_hint` (letters, digits, `_` and `-`; the account `demo_api_key(<name>)` belongs
  to), which stands in for whoever types their name on the real login page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from chutes_mcp.sim.identity import USERNAME, AuthCode, Grant
from chutes_mcp.sim.invocation import sim_state
from chutes_mcp.sim.responses import detail

CLIENT_ID = re.compile(r"^cid_[a-z0-9]{24}$")
CLIENT_SECRET = re.compile(r"^csc_[a-zA-Z0-9]{48}$")
DEMO_CLIENT_ID = "cid_chutesmcpsimdemoclient01"
DEMO_CLIENT_SECRET = "csc_" + "simulatordemosecret" + "0" * 29
AUTH_CODE_TTL_S = 600

SCOPES_SUPPORTED = (
    "admin", "profile", "profile:read", "balance", "balance:read", "billing:read", "quota", "quota:read",
    "usage", "usage:read", "account:read", "account:write", "secrets:read", "secrets:write", "chutes:read",
    "chutes:write", "chutes:delete", "chutes:invoke", "images:read", "images:write", "images:delete",
    "invocations:read",
)  # fmt: skip
# Scopes an app must have been allowed explicitly, which no simulated app is (reference §6.3).
_PRIVILEGED = re.compile(
    r"^(admin|account:(write|delete)|billing:.*|secrets:.*|chutes:(write|delete)|images:(write|delete))$"
)
_PER_CHUTE_INVOKE = re.compile(r"^chutes:[0-9a-f-]{36}:invoke$")
USERINFO_SCOPES = frozenset({"openid", "profile", "account:read", "admin"})
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


async def openid_configuration(request: Request) -> Response:
    # The api host's own base, path prefix included (`/api` when reached through one port's prefix).
    base = f"{request.url.scheme}://{request.url.netloc}{request.scope.get('root_path', '')}"
    return JSONResponse(
        {
            "issuer": base,
            "authorization_endpoint": f"{base}/idp/authorize",
            "token_endpoint": f"{base}/idp/token",
            "userinfo_endpoint": f"{base}/idp/userinfo",
            "revocation_endpoint": f"{base}/idp/token/revoke",
            "introspection_endpoint": f"{base}/idp/token/introspect",
            "scopes_supported": list(SCOPES_SUPPORTED),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "service_documentation": "https://docs.chutes.ai/oauth",
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "username", "created_at"],
        }
    )


def _registered_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in _LOOPBACK


def _grantable(scope: str) -> bool:
    known = scope in SCOPES_SUPPORTED or scope == "openid" or bool(_PER_CHUTE_INVOKE.match(scope))
    return known and not _PRIVILEGED.match(scope)


def _redirect(uri: str, **params: str | None) -> Response:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value is not None]
    return RedirectResponse(urlunsplit(parts._replace(query=urlencode(query))), status_code=302)


async def authorize(request: Request) -> Response:
    params = request.query_params
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    # Errors about the client or its redirect URI cannot be sent to that URI (RFC 6749 §4.1.2.1).
    if not CLIENT_ID.match(client_id):
        return detail(400, "Invalid client_id")
    if not _registered_redirect(redirect_uri):
        return detail(400, "Invalid redirect_uri")
    state = params.get("state")
    if params.get("response_type") != "code":
        return _redirect(redirect_uri, error="unsupported_response_type", state=state)
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or "plain"
    if challenge is not None and method not in ("plain", "S256"):
        description = "Unsupported code_challenge_method"
        return _redirect(redirect_uri, error="invalid_request", error_description=description, state=state)
    scopes = params.get("scope", "").split() or ["profile"]
    if not all(map(_grantable, scopes)):
        return _redirect(redirect_uri, error="invalid_scope", state=state)
    login_hint = params.get("login_hint") or None
    if login_hint is not None and not USERNAME.match(login_hint):
        description = "login_hint must be a user name of letters, digits, _ and -"
        return _redirect(redirect_uri, error="invalid_request", error_description=description, state=state)
    identity = sim_state(request).identity
    code = secrets.token_urlsafe(32)
    identity.auth_codes[code] = AuthCode(
        user_id=identity.signing_in(login_hint),
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        code_challenge=challenge,
        code_challenge_method=method,
        expires_at=time.time() + AUTH_CODE_TTL_S,
    )
    return _redirect(redirect_uri, code=code, state=state)


def _oauth_error(error: str, description: str | None = None) -> Response:
    body = {"error": error} if description is None else {"error": error, "error_description": description}
    return JSONResponse(body, status_code=400, headers={"Cache-Control": "no-store"})


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded body, first value of each field; any other body reads as no fields at all."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    form: dict[str, str] = {}
    for key, value in parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True):
        form.setdefault(key, value)
    return form


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def _pkce_verified(code: AuthCode, verifier: str | None) -> bool:
    if not verifier or code.code_challenge is None:
        return False
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        expected = verifier
    return secrets.compare_digest(expected, code.code_challenge)


def _tokens(access: str, refresh: str, scope: str, ttl_s: int) -> Response:
    body = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl_s,
        "refresh_token": refresh,
        "scope": scope,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def token(request: Request) -> Response:
    form = await _form(request)
    basic = _basic_credentials(request)
    if basic is not None:
        form["client_id"], form["client_secret"] = basic
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _authorization_code(request, form)
    if grant_type == "refresh_token":
        return _refresh(request, form)
    if not grant_type:
        return _oauth_error("invalid_request", "Missing required parameters")
    return _oauth_error("unsupported_grant_type")


def _client_error(form: dict[str, str]) -> Response | None:
    secret = form.get("client_secret")
    if not CLIENT_ID.match(form["client_id"]) or (secret and not CLIENT_SECRET.match(secret)):
        return _oauth_error("invalid_client")
    return None


def _authorization_code(request: Request, form: dict[str, str]) -> Response:
    if not all(form.get(name) for name in ("code", "redirect_uri", "client_id")):
        return _oauth_error("invalid_request", "Missing required parameters")
    refusal = _client_error(form)
    if refusal is not None:
        return refusal
    identity = sim_state(request).identity
    # Popped before any check: a code is spent by its first use, right or wrong.
    code = identity.auth_codes.pop(form["code"], None)
    if (
        code is None
        or code.expires_at <= time.time()
        or code.client_id != form["client_id"]
        or code.redirect_uri != form["redirect_uri"]
    ):
        return _oauth_error("invalid_grant")
    if code.code_challenge is not None:
        if not _pkce_verified(code, form.get("code_verifier")):
            return _oauth_error("invalid_grant")
    elif not form.get("client_secret"):
        # Without PKCE only a confidential client, one that proves itself with its secret, gets tokens.
        return _oauth_error("invalid_client")
    access, refresh = identity.issue(code.user_id, code.client_id, frozenset(code.scope.split()))
    return _tokens(access, refresh, code.scope, identity.access_token_ttl_s)


def _refresh(request: Request, form: dict[str, str]) -> Response:
    if not all(form.get(name) for name in ("refresh_token", "client_id")):
        return _oauth_error("invalid_request", "Missing required parameters")
    refusal = _client_error(form)
    if refusal is not None:
        return refusal
    identity = sim_state(request).identity
    rotated = identity.rotate(form["refresh_token"], form["client_id"])
    if rotated is None:
        return _oauth_error("invalid_grant")
    access, refresh, grant = rotated
    return _tokens(access, refresh, _scope_text(grant), identity.access_token_ttl_s)


def _scope_text(grant: Grant) -> str:
    return " ".join(sorted(grant.scopes))


def _live_access_grant(request: Request, token_text: str) -> Grant | None:
    grant = sim_state(request).identity.access_tokens.get(token_text)
    return grant if grant is not None and grant.expires_at > time.time() else None


async def userinfo(request: Request) -> Response:
    header = request.headers.get("authorization", "")
    # Only the exact scheme `Bearer ` counts here, unlike on the rest of the API.
    grant = _live_access_grant(request, header[len("Bearer ") :]) if header.startswith("Bearer ") else None
    if grant is None:
        return detail(401, "Invalid or expired token")
    if not grant.scopes & USERINFO_SCOPES:
        return detail(403, "Insufficient scope")
    account = sim_state(request).identity.account(grant.user_id)
    return JSONResponse(
        {"sub": account.user_id, "username": account.username, "created_at": account.created_at}
    )


async def revoke(request: Request) -> Response:
    token_text = (await _form(request)).get("token")
    if token_text:
        sim_state(request).identity.revoke(token_text)
    return JSONResponse({"revoked": True})


async def introspect(request: Request) -> Response:
    token_text = (await _form(request)).get("token", "")
    state = sim_state(request)
    # Counted, so a test can see how often servers ask (a cache shared by replicas asks once per token).
    state.stats.record_request("introspect")
    identity = state.identity
    grant, kind = _live_access_grant(request, token_text), "access_token"
    if grant is None:
        grant, kind = identity.refresh_tokens.get(token_text), "refresh_token"
    if grant is None or grant.expires_at <= time.time():
        return JSONResponse({"active": False})
    account = identity.account(grant.user_id)
    return JSONResponse(
        {
            "active": True,
            "token_type": kind,
            "exp": int(grant.expires_at),
            "iat": int(grant.issued_at),
            "scope": _scope_text(grant),
            "client_id": grant.client_id,
            "username": account.username,
            "sub": account.user_id,
        }
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/idp/authorize", authorize, methods=["GET"]),
        Route("/idp/token", token, methods=["POST"]),
        Route("/idp/userinfo", userinfo, methods=["GET"]),
        Route("/idp/token/revoke", revoke, methods=["POST"]),
        Route("/idp/token/introspect", introspect, methods=["POST"]),
    ]
