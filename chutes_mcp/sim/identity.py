"""Who is calling: API keys, OAuth tokens issued by the simulated IdP, and their accounts."""

from __future__ import annotations

import functools
import re
import secrets
import string
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

API_KEY = re.compile(r"^cpk_([a-f0-9]{32})\.([a-f0-9]{32})\.[a-zA-Z0-9]{32}$")
ACCESS_TOKEN_TTL_S = 3600
REFRESH_TOKEN_TTL_S = 30 * 24 * 3600
INVOKE_SCOPES = frozenset({"chutes:invoke", "invoke", "admin"})
_ALNUM = string.ascii_letters + string.digits

# The account behind the simulated "Sign in with Chutes" login (the IdP auto-approves as this user,
# unless the authorize request names another with `login_hint`).
OAUTH_USER_ID = str(uuid.uuid5(uuid.NAMESPACE_OID, "chutes-mcp-sim::oauth-user"))
USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def _alnum(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def new_access_token() -> str:
    return f"cak_{uuid.uuid4()}.{_alnum(48)}"


def new_refresh_token() -> str:
    return f"crt_{uuid.uuid4()}.{_alnum(48)}"


def user_id_for(user: str) -> str:
    """The account id of the simulated user `user`: the one `demo_api_key(user)` belongs to, and the one
    that signs in with `login_hint=<user>`."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"chutes-mcp-sim::user::{user}"))


def demo_api_key(user: str = "demo") -> str:
    """A well-formed key the simulator accepts, stable per `user`, for docs and quick starts."""
    key_id = uuid.uuid5(uuid.NAMESPACE_OID, f"chutes-mcp-sim::key::{user}").hex
    return f"cpk_{key_id}.{uuid.UUID(user_id_for(user)).hex}.{'sim' + 'x' * 29}"


@dataclass(frozen=True)
class Principal:
    user_id: str
    # A non-secret handle for stats and logs: the key id of a `cpk_` key, or the signed-in user's name.
    handle: str
    scopes: frozenset[str] = frozenset({"admin"})

    @property
    def may_invoke(self) -> bool:
        return bool(self.scopes & INVOKE_SCOPES) or any(
            s.startswith("chutes:") and s.endswith(":invoke") for s in self.scopes
        )


@dataclass
class Grant:
    user_id: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    issued_at: float = 0.0


@dataclass(frozen=True)
class AuthCode:
    """An authorization code of the simulated IdP: single use, bound to its client, redirect and PKCE."""

    user_id: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str
    expires_at: float


@dataclass
class Account:
    user_id: str
    username: str
    balance_usd: float
    daily_quota: int
    used_today: int = 0
    spent_usd: float = 0.0
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


@dataclass
class Identity:
    """Accounts and live OAuth grants; the IdP routes write here, authentication reads."""

    default_balance_usd: float = 25.0
    default_daily_quota: int = 2000
    access_token_ttl_s: int = ACCESS_TOKEN_TTL_S
    accounts: dict[str, Account] = field(default_factory=dict)
    access_tokens: dict[str, Grant] = field(default_factory=dict)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    used_refresh_tokens: set[str] = field(default_factory=set)
    auth_codes: dict[str, AuthCode] = field(default_factory=dict)

    def account(self, user_id: str) -> Account:
        account = self.accounts.get(user_id)
        if account is None:
            account = self.accounts[user_id] = Account(
                user_id=user_id,
                username=f"sim-{user_id[:8]}",
                balance_usd=self.default_balance_usd,
                daily_quota=self.default_daily_quota,
            )
        return account

    def signing_in(self, username: str | None) -> str:
        """The user a login approves: `username`'s account (named so), or the default OAuth user."""
        if username is None:
            return self.account(OAUTH_USER_ID).user_id
        account = self.account(user_id_for(username))
        account.username = username
        return account.user_id

    def issue(self, user_id: str, client_id: str, scopes: frozenset[str]) -> tuple[str, str]:
        now = time.time()
        access, refresh = new_access_token(), new_refresh_token()
        self.access_tokens[access] = Grant(user_id, client_id, scopes, now + self.access_token_ttl_s, now)
        self.refresh_tokens[refresh] = Grant(user_id, client_id, scopes, now + REFRESH_TOKEN_TTL_S, now)
        return access, refresh

    def rotate(self, refresh_token: str, client_id: str) -> tuple[str, str, Grant] | None:
        """Exchange a refresh token once; a reused or foreign one is refused, as Chutes rotates them."""
        grant = self.refresh_tokens.get(refresh_token)
        if grant is None or grant.client_id != client_id or grant.expires_at < time.time():
            return None
        del self.refresh_tokens[refresh_token]
        self.used_refresh_tokens.add(refresh_token)
        access, refresh = self.issue(grant.user_id, client_id, grant.scopes)
        return access, refresh, grant

    def revoke(self, token: str) -> None:
        self.access_tokens.pop(token, None)
        self.refresh_tokens.pop(token, None)


@dataclass(frozen=True)
class AuthFailure:
    status: int
    detail: str


def authenticate(authorization: str | None, identity: Identity) -> Principal | AuthFailure | None:
    """Resolve an Authorization header the way chutes-api does; None when there is none.

    Only `Authorization` is read, and the token is its last space-separated word, so `Bearer cpk_…`,
    `Basic cpk_…` and a bare `cpk_…` all work. `X-API-Key` is ignored, as the real API ignores it.
    """
    if not authorization or not authorization.strip():
        return None
    token = authorization.split()[-1]
    if token.startswith("cpk_"):
        return _api_key(token)
    if token.startswith("cak_"):
        grant = identity.access_tokens.get(token)
        if grant is None:
            return AuthFailure(401, "Invalid token or user not found")
        # `<=` so that a lifetime of 0 (`PATCH /_sim/config`) expires a token at once.
        if grant.expires_at <= time.time():
            return AuthFailure(401, "Token expired.")
        username = identity.account(grant.user_id).username
        return Principal(user_id=grant.user_id, handle=f"oauth:{username}", scopes=grant.scopes)
    # Anything else is tried as a web-session JWT, which the simulator never issues.
    return AuthFailure(401, "Invalid token.")


# A key's principal depends on the key alone, and every invocation carries one: parse each key once.
@functools.lru_cache(maxsize=4096)
def _api_key(token: str) -> Principal | AuthFailure:
    match = API_KEY.match(token)
    if match is None:
        return AuthFailure(401, "Missing or invalid authorization header(s)")
    key_id, user_hex = match.groups()
    return Principal(user_id=str(uuid.UUID(user_hex)), handle=f"key:{key_id[:12]}")
