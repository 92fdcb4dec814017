"""The simulator's api host: `/users/me`, quota routes, `/model_aliases/`, and their auth errors."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from sim_process import SimProcess

from chutes_mcp.sim.catalog import chute_id_for
from chutes_mcp.sim.identity import demo_api_key

AUTH = {"Authorization": f"Bearer {demo_api_key()}"}
OTHER_AUTH = {"Authorization": f"Bearer {demo_api_key('someone-else')}"}
ME_KEYS = {
    "username",
    "user_id",
    "logo_id",
    "logo",
    "created_at",
    "hotkey",
    "coldkey",
    "payment_address",
    "developer_payment_address",
    "permissions_bitmask",
    "permissions",
    "balance",
    "netuids",
}


def _get(sim: SimProcess, path: str, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.get(f"{sim.management_base}{path}", headers=AUTH if headers is None else headers)


def _create_alias(sim: SimProcess, body: Any, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.post(f"{sim.management_base}/model_aliases/", json=body, headers=headers or AUTH)


def test_users_me_has_the_reference_shape_and_the_balance(sim: SimProcess) -> None:
    response = _get(sim, "/users/me")
    assert response.status_code == 200
    me = response.json()
    assert set(me) == ME_KEYS
    assert me["balance"] == 25.0
    assert me["permissions"] == []
    assert me["payment_address"].startswith("5")
    httpx2.patch(f"{sim.url}/_sim/config", json={"balance_usd": 3.5}).raise_for_status()
    assert _get(sim, "/users/me").json()["balance"] == 3.5


def test_users_me_is_reachable_on_the_bare_port_and_by_host_header(sim: SimProcess) -> None:
    expected = _get(sim, "/users/me").json()["user_id"]
    # The llm host hands every GET but /v1/models to the REST routes, as chutes-api does.
    assert httpx2.get(f"{sim.url}/users/me", headers=AUTH).json()["user_id"] == expected
    by_host = httpx2.get(f"{sim.url}/users/me", headers={**AUTH, "Host": "api.chutes.ai"})
    assert by_host.json()["user_id"] == expected


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "Authentication required."),
        ({"Authorization": "Bearer invalid-token"}, 401, "Invalid token."),
        ({"Authorization": "Bearer cpk_short"}, 401, "Missing or invalid authorization header(s)"),
        ({"Authorization": "Bearer cak_unknown"}, 401, "Invalid token or user not found"),
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/users/me",
        "/users/me/quota_usage/me",
        "/users/me/quotas",
        "/users/me/subscription_usage",
        "/model_aliases/",
    ],
)
def test_account_routes_need_credentials(
    sim: SimProcess, path: str, headers: dict[str, str], status: int, message: str
) -> None:
    response = _get(sim, path, headers)
    assert (response.status_code, response.json()) == (status, {"detail": message})


def test_a_bare_key_and_basic_scheme_work_as_on_the_real_api(sim: SimProcess) -> None:
    key = demo_api_key()
    for header in (key, f"Basic {key}"):
        assert _get(sim, "/users/me", {"Authorization": header}).status_code == 200


@pytest.mark.parametrize("chute", ["me", "0", chute_id_for("Qwen/Qwen3-32B"), "not-a-chute"])
def test_quota_usage_is_account_wide_for_any_chute_id(sim: SimProcess, chute: str) -> None:
    assert _get(sim, f"/users/me/quota_usage/{chute}").json() == {"quota": 2000, "used": 0.0}


def test_quota_usage_counts_invocations(sim: SimProcess) -> None:
    httpx2.post(
        f"{sim.embed_base}/embeddings", json={"model": "BAAI/bge-m3", "input": "x"}, headers=AUTH
    ).raise_for_status()
    assert _get(sim, "/users/me/quota_usage/me").json() == {"quota": 2000, "used": 1.0}
    httpx2.patch(f"{sim.url}/_sim/config", json={"daily_quota": 300}).raise_for_status()
    assert _get(sim, "/users/me/quota_usage/me").json()["quota"] == 300


def test_quotas_and_subscription_usage(sim: SimProcess) -> None:
    [row] = _get(sim, "/users/me/quotas").json()
    assert row["chute_id"] == "*"
    assert row["quota"] == 2000
    assert set(row) == {"user_id", "chute_id", "quota", "is_default", "payment_refresh_date", "updated_at"}
    assert _get(sim, "/users/me/subscription_usage").json() == {"subscription": False}


def test_aliases_are_created_listed_replaced_and_deleted_per_user(sim: SimProcess) -> None:
    assert _get(sim, "/model_aliases/").json() == []
    body = {"alias": "Fast", "chute_ids": ["zai-org/GLM-4.7-TEE", chute_id_for("Qwen/Qwen3-32B")]}
    created = _create_alias(sim, body)
    assert (created.status_code, created.json()) == (201, body)
    assert _get(sim, "/model_aliases/").json() == [body]
    assert _get(sim, "/model_aliases/", OTHER_AUTH).json() == []
    replaced = {"alias": "Fast", "chute_ids": ["Qwen/Qwen3-32B"]}
    assert _create_alias(sim, replaced).status_code == 201
    assert _get(sim, "/model_aliases/").json() == [replaced]
    # Deletion ignores case, as chutes-api's does.
    deleted = httpx2.delete(f"{sim.management_base}/model_aliases/fast", headers=AUTH)
    assert deleted.status_code == 204
    assert _get(sim, "/model_aliases/").json() == []
    again = httpx2.delete(f"{sim.management_base}/model_aliases/fast", headers=AUTH)
    assert (again.status_code, again.json()) == (404, {"detail": "alias not found"})


def test_aliases_are_kept_in_the_simulator_state_for_routing(sim: SimProcess) -> None:
    assert _create_alias(sim, {"alias": "emb", "chute_ids": ["BAAI/bge-m3"]}).status_code == 201
    response = httpx2.post(f"{sim.embed_base}/embeddings", json={"model": "emb", "input": "x"}, headers=AUTH)
    assert response.json()["model"] == "BAAI/bge-m3"


def test_alias_with_an_unknown_chute_is_refused(sim: SimProcess) -> None:
    response = _create_alias(sim, {"alias": "x", "chute_ids": ["Qwen/Qwen3-32B", "nope/none"]})
    assert (response.status_code, response.json()) == (400, {"detail": "chute not found: nope/none"})
    assert _get(sim, "/model_aliases/").json() == []


@pytest.mark.parametrize(
    ("body", "loc", "kind"),
    [
        ({"chute_ids": ["Qwen/Qwen3-32B"]}, ["body", "alias"], "missing"),
        ({"alias": "a"}, ["body", "chute_ids"], "missing"),
        ({"alias": 7, "chute_ids": ["Qwen/Qwen3-32B"]}, ["body", "alias"], "string_type"),
        ({"alias": "", "chute_ids": ["Qwen/Qwen3-32B"]}, ["body", "alias"], "string_too_short"),
        ({"alias": "a" * 65, "chute_ids": ["Qwen/Qwen3-32B"]}, ["body", "alias"], "string_too_long"),
        ({"alias": "a", "chute_ids": "Qwen/Qwen3-32B"}, ["body", "chute_ids"], "list_type"),
        ({"alias": "a", "chute_ids": []}, ["body", "chute_ids"], "too_short"),
        ({"alias": "a", "chute_ids": ["Qwen/Qwen3-32B", 3]}, ["body", "chute_ids", 1], "string_type"),
        (["not", "an", "object"], ["body"], "model_attributes_type"),
    ],
)
def test_alias_validation_errors_are_fastapi_422s(
    sim: SimProcess, body: Any, loc: list[Any], kind: str
) -> None:
    response = _create_alias(sim, body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert (error["loc"], error["type"]) == (loc, kind)
    assert error["msg"]


def test_alias_body_that_is_not_json_is_a_422(sim: SimProcess) -> None:
    response = httpx2.post(f"{sim.management_base}/model_aliases/", content=b"{", headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_alias_routes_need_credentials(sim: SimProcess) -> None:
    response = _create_alias(sim, {"alias": "a", "chute_ids": ["Qwen/Qwen3-32B"]}, {"X-Nothing": "1"})
    assert (response.status_code, response.json()) == (401, {"detail": "Authentication required."})
    deleted = httpx2.delete(f"{sim.management_base}/model_aliases/a")
    assert deleted.status_code == 401
