"""Sign in with Chutes on the simulator: discovery, authorize with PKCE, tokens, refresh rotation, expiry,
revocation, userinfo and introspection, driven over HTTP like a real OAuth client."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx2
import openai
import pytest
from sim_process import SimProcess

from chutes_mcp.sim.identity import OAUTH_USER_ID
from chutes_mcp.sim.idp import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

REDIRECT_URI = "http://127.0.0.1:1456/oauth-callback"
SCOPE = "openid profile chutes:invoke"
ACCESS_TOKEN = re.compile(r"^cak_[0-9a-f-]{36}\.[A-Za-z0-9]{48}$")
REFRESH_TOKEN = re.compile(r"^crt_[0-9a-f-]{36}\.[A-Za-z0-9]{48}$")


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_hex(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize(sim: SimProcess, **params: str) -> httpx2.Response:
    query = {"response_type": "code", "client_id": DEMO_CLIENT_ID, "redirect_uri": REDIRECT_URI, **params}
    # Nothing listens on the loopback redirect URI: read where the IdP sends the browser instead.
    with httpx2.Client(follow_redirects=False) as client:
        return client.get(f"{sim.management_base}/idp/authorize", params=query)


def _redirect_params(response: httpx2.Response) -> dict[str, str]:
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def _code(sim: SimProcess, challenge: str | None, *, scope: str = SCOPE, method: str = "S256") -> str:
    params = {"scope": scope, "state": "st-1"}
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": method}
    redirect = _redirect_params(_authorize(sim, **params))
    assert redirect["state"] == "st-1"
    return redirect["code"]


def _token(sim: SimProcess, data: dict[str, str], auth: tuple[str, str] | None = None) -> httpx2.Response:
    return httpx2.post(f"{sim.management_base}/idp/token", data=data, auth=auth)


def _exchange(sim: SimProcess, code: str, **extra: str) -> httpx2.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": DEMO_CLIENT_ID,
    }
    return _token(sim, data | extra)


def _sign_in(sim: SimProcess, scope: str = SCOPE) -> dict[str, str]:
    verifier, challenge = _pkce()
    response = _exchange(sim, _code(sim, challenge, scope=scope), code_verifier=verifier)
    assert response.status_code == 200, response.text
    tokens: dict[str, str] = response.json()
    return tokens


def _refresh(sim: SimProcess, refresh_token: str) -> httpx2.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": DEMO_CLIENT_ID}
    return _token(sim, data)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _me(sim: SimProcess, token: str) -> httpx2.Response:
    return httpx2.get(f"{sim.management_base}/users/me", headers=_bearer(token))


def _embed(sim: SimProcess, token: str) -> httpx2.Response:
    body = {"model": "BAAI/bge-m3", "input": "x"}
    return httpx2.post(f"{sim.embed_base}/embeddings", json=body, headers=_bearer(token))


def _userinfo(sim: SimProcess, authorization: str) -> httpx2.Response:
    return httpx2.get(f"{sim.management_base}/idp/userinfo", headers={"Authorization": authorization})


def test_discovery_points_at_this_simulator(sim: SimProcess) -> None:
    config = httpx2.get(f"{sim.management_base}/.well-known/openid-configuration").json()
    assert config["issuer"] == sim.management_base
    assert config["authorization_endpoint"] == f"{sim.management_base}/idp/authorize"
    assert config["token_endpoint"] == f"{sim.management_base}/idp/token"
    assert config["revocation_endpoint"] == f"{sim.management_base}/idp/token/revoke"
    assert config["code_challenge_methods_supported"] == ["plain", "S256"]
    assert config["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert "chutes:invoke" in config["scopes_supported"]


def test_full_pkce_flow_gives_tokens_that_work_on_account_and_inference_routes(sim: SimProcess) -> None:
    tokens = _sign_in(sim)
    assert ACCESS_TOKEN.match(tokens["access_token"])
    assert REFRESH_TOKEN.match(tokens["refresh_token"])
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["scope"] == SCOPE
    me = _me(sim, tokens["access_token"])
    assert me.status_code == 200
    assert me.json()["user_id"] == OAUTH_USER_ID
    assert _embed(sim, tokens["access_token"]).status_code == 200
    with openai.OpenAI(base_url=sim.llm_base, api_key=tokens["access_token"], max_retries=0) as client:
        reply = client.chat.completions.create(
            model="Qwen/Qwen3-32B", messages=[{"role": "user", "content": "hi"}], max_tokens=8
        )
    assert reply.choices[0].message is not None


def test_a_token_without_invoke_scope_may_not_invoke(sim: SimProcess) -> None:
    tokens = _sign_in(sim, scope="openid profile")
    response = _embed(sim, tokens["access_token"])
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Token does not have permission for this resource"},
    )
    assert _me(sim, tokens["access_token"]).status_code == 200


def test_refresh_rotates_and_a_reused_refresh_token_is_invalid_grant(sim: SimProcess) -> None:
    tokens = _sign_in(sim)
    rotated = _refresh(sim, tokens["refresh_token"])
    assert rotated.status_code == 200
    fresh = rotated.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]
    assert set(fresh["scope"].split()) == set(SCOPE.split())
    assert _me(sim, fresh["access_token"]).status_code == 200
    reused = _refresh(sim, tokens["refresh_token"])
    assert (reused.status_code, reused.json()) == (400, {"error": "invalid_grant"})
    assert _refresh(sim, fresh["refresh_token"]).status_code == 200


def test_refresh_token_of_another_client_is_invalid_grant(sim: SimProcess) -> None:
    tokens = _sign_in(sim)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": "cid_" + "b" * 24,
    }
    assert _token(sim, data).json() == {"error": "invalid_grant"}


def test_expired_access_tokens_are_refused(sim: SimProcess) -> None:
    httpx2.patch(f"{sim.url}/_sim/config", json={"access_token_ttl_s": 0}).raise_for_status()
    tokens = _sign_in(sim)
    assert tokens["expires_in"] == 0
    for response in (_me(sim, tokens["access_token"]), _embed(sim, tokens["access_token"])):
        assert (response.status_code, response.json()) == (401, {"detail": "Token expired."})
    assert _userinfo(sim, f"Bearer {tokens['access_token']}").status_code == 401
    # The refresh token outlives its access token, as it does on Chutes.
    httpx2.patch(f"{sim.url}/_sim/config", json={"access_token_ttl_s": 3600}).raise_for_status()
    fresh = _refresh(sim, tokens["refresh_token"]).json()
    assert _me(sim, fresh["access_token"]).status_code == 200


def test_revocation_really_revokes(sim: SimProcess) -> None:
    tokens = _sign_in(sim)
    revoke = f"{sim.management_base}/idp/token/revoke"
    assert httpx2.post(revoke, data={"token": tokens["access_token"]}).json() == {"revoked": True}
    assert _me(sim, tokens["access_token"]).json() == {"detail": "Invalid token or user not found"}
    assert httpx2.post(revoke, data={"token": tokens["refresh_token"]}).json() == {"revoked": True}
    assert _refresh(sim, tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    assert httpx2.post(revoke, data={"token": "cak_never-issued"}).json() == {"revoked": True}


def test_userinfo_scope_and_scheme_rules(sim: SimProcess) -> None:
    tokens = _sign_in(sim)
    info = _userinfo(sim, f"Bearer {tokens['access_token']}")
    assert info.status_code == 200
    assert set(info.json()) == {"sub", "username", "created_at"}
    assert info.json()["sub"] == OAUTH_USER_ID
    # Unlike the rest of the API, userinfo reads only the exact `Bearer ` scheme.
    assert _userinfo(sim, f"bearer {tokens['access_token']}").status_code == 401
    assert _userinfo(sim, tokens["access_token"]).json() == {"detail": "Invalid or expired token"}
    invoke_only = _sign_in(sim, scope="chutes:invoke")
    assert _userinfo(sim, f"Bearer {invoke_only['access_token']}").status_code == 403
    account_read = _sign_in(sim, scope="account:read")
    assert _userinfo(sim, f"Bearer {account_read['access_token']}").status_code == 200


def test_wrong_pkce_verifier_is_invalid_grant_and_spends_the_code(sim: SimProcess) -> None:
    verifier, challenge = _pkce()
    code = _code(sim, challenge)
    wrong = _exchange(sim, code, code_verifier=_pkce()[0])
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant"})
    assert _exchange(sim, code, code_verifier=verifier).json() == {"error": "invalid_grant"}


def test_missing_pkce_verifier_is_invalid_grant(sim: SimProcess) -> None:
    assert _exchange(sim, _code(sim, _pkce()[1])).json() == {"error": "invalid_grant"}


def test_a_code_works_once(sim: SimProcess) -> None:
    verifier, challenge = _pkce()
    code = _code(sim, challenge)
    assert _exchange(sim, code, code_verifier=verifier).status_code == 200
    assert _exchange(sim, code, code_verifier=verifier).json() == {"error": "invalid_grant"}


def test_a_code_is_bound_to_its_redirect_uri_and_client(sim: SimProcess) -> None:
    verifier, challenge = _pkce()
    moved = _exchange(
        sim, _code(sim, challenge), code_verifier=verifier, redirect_uri="http://127.0.0.1:9/cb"
    )
    assert moved.json() == {"error": "invalid_grant"}
    foreign = _exchange(sim, _code(sim, challenge), code_verifier=verifier, client_id="cid_" + "c" * 24)
    assert foreign.json() == {"error": "invalid_grant"}


def test_plain_pkce_is_accepted(sim: SimProcess) -> None:
    verifier = secrets.token_urlsafe(43)
    code = _code(sim, verifier, method="plain")
    assert _exchange(sim, code, code_verifier=verifier).status_code == 200


def test_without_pkce_the_client_secret_is_required(sim: SimProcess) -> None:
    assert _exchange(sim, _code(sim, None)).json() == {"error": "invalid_client"}
    in_body = _exchange(sim, _code(sim, None), client_secret=DEMO_CLIENT_SECRET)
    assert in_body.status_code == 200
    data = {"grant_type": "authorization_code", "code": _code(sim, None), "redirect_uri": REDIRECT_URI}
    basic = _token(sim, data, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))
    assert basic.status_code == 200
    assert ACCESS_TOKEN.match(basic.json()["access_token"])


MISSING = {"error": "invalid_request", "error_description": "Missing required parameters"}
REFRESH = {"grant_type": "refresh_token", "refresh_token": "crt_x", "client_id": DEMO_CLIENT_ID}
UNKNOWN_CODE = {"grant_type": "authorization_code", "code": "nope", "redirect_uri": REDIRECT_URI}


@pytest.mark.parametrize(
    ("data", "body"),
    [
        ({}, MISSING),
        ({"grant_type": "authorization_code", "code": "x"}, MISSING),
        ({"grant_type": "refresh_token", "client_id": DEMO_CLIENT_ID}, MISSING),
        ({"grant_type": "password", "username": "u", "password": "p"}, {"error": "unsupported_grant_type"}),
        (REFRESH | {"client_id": "not-a-client"}, {"error": "invalid_client"}),
        (REFRESH | {"client_secret": "bad"}, {"error": "invalid_client"}),
        (REFRESH, {"error": "invalid_grant"}),
        (UNKNOWN_CODE | {"client_id": DEMO_CLIENT_ID}, {"error": "invalid_grant"}),
    ],
)
def test_token_endpoint_errors_are_rfc6749_bodies(
    sim: SimProcess, data: dict[str, str], body: dict[str, str]
) -> None:
    response = _token(sim, data)
    assert (response.status_code, response.json()) == (400, body)


def test_authorize_defaults_to_the_profile_scope(sim: SimProcess) -> None:
    verifier, challenge = _pkce()
    code = _redirect_params(_authorize(sim, code_challenge=challenge, code_challenge_method="S256"))["code"]
    assert _exchange(sim, code, code_verifier=verifier).json()["scope"] == "profile"


@pytest.mark.parametrize("scope", ["admin", "openid billing:read", "account:write", "made-up"])
def test_authorize_refuses_privileged_and_unknown_scopes_by_redirect(sim: SimProcess, scope: str) -> None:
    redirect = _redirect_params(_authorize(sim, scope=scope, state="s9", code_challenge=_pkce()[1]))
    assert redirect["error"] == "invalid_scope"
    assert redirect["state"] == "s9"
    assert "code" not in redirect


def test_authorize_refuses_other_response_types_and_challenge_methods(sim: SimProcess) -> None:
    token_flow = _redirect_params(_authorize(sim, response_type="token"))
    assert token_flow["error"] == "unsupported_response_type"
    bad_method = _redirect_params(_authorize(sim, code_challenge="abc", code_challenge_method="S512"))
    assert bad_method["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"),
    [
        ("cid_TOO-short", REDIRECT_URI),
        (DEMO_CLIENT_ID, "http://example.com/callback"),
        (DEMO_CLIENT_ID, ""),
    ],
)
def test_authorize_answers_bad_clients_and_redirects_itself(
    sim: SimProcess, client_id: str, redirect_uri: str
) -> None:
    response = _authorize(sim, client_id=client_id, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_any_https_redirect_uri_is_accepted(sim: SimProcess) -> None:
    response = _authorize(sim, redirect_uri="https://app.example.com/cb?tab=1", state="z")
    location = response.headers["location"]
    assert location.startswith("https://app.example.com/cb?tab=1&code=")
    assert location.endswith("&state=z")


def test_introspection_reports_live_tokens_only(sim: SimProcess) -> None:
    tokens = _sign_in(sim)
    url = f"{sim.management_base}/idp/token/introspect"
    access = httpx2.post(url, data={"token": tokens["access_token"]}).json()
    assert access["active"] is True
    assert access["token_type"] == "access_token"
    assert access["client_id"] == DEMO_CLIENT_ID
    assert access["sub"] == OAUTH_USER_ID
    assert access["exp"] - access["iat"] in (3599, 3600)
    assert set(access["scope"].split()) == set(SCOPE.split())
    refresh = httpx2.post(url, data={"token": tokens["refresh_token"]}).json()
    assert refresh["token_type"] == "refresh_token"
    httpx2.post(f"{sim.management_base}/idp/token/revoke", data={"token": tokens["access_token"]})
    assert httpx2.post(url, data={"token": tokens["access_token"]}).json() == {"active": False}
