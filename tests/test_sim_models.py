"""`GET /v1/models` on the simulated llm host, against the 2026-02-18 capture."""

from __future__ import annotations

import json
import time

import httpx2
import pytest
from chat_support import AUTH, FIXTURES, sdk
from sim_process import SimProcess


def _captured() -> list[dict[str, object]]:
    data: list[dict[str, object]] = json.loads((FIXTURES / "models_2026-02-18.json").read_text())["data"]
    return data


def test_lists_the_61_captured_models_in_their_shape_without_auth(sim: SimProcess) -> None:
    response = httpx2.get(f"{sim.llm_base}/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    served = body["data"]
    captured = _captured()
    assert len(served) == 61
    assert [entry["id"] for entry in served] == [entry["id"] for entry in captured]
    for mine, real in zip(served, captured, strict=True):
        assert set(mine) == set(real), mine["id"]
        assert ("permission" in mine) == (mine["owned_by"] == "vllm")
        assert mine["chute_id"] == real["chute_id"]
        assert mine["pricing"] == real["pricing"]
        assert abs(mine["created"] - time.time()) < 300


def test_a_valid_key_gets_the_same_list(sim: SimProcess) -> None:
    anonymous = [m["id"] for m in httpx2.get(f"{sim.llm_base}/models").json()["data"]]
    with sdk(sim) as client:
        assert [m.id for m in client.models.list()] == anonymous
    assert [m["id"] for m in httpx2.get(f"{sim.llm_base}/models", headers=AUTH).json()["data"]] == anonymous


def test_an_invalid_bearer_gets_the_captured_401(sim: SimProcess) -> None:
    response = httpx2.get(f"{sim.llm_base}/models", headers={"Authorization": "Bearer invalid-token"})
    assert response.status_code == 401
    assert response.content == (FIXTURES / "chat_completions_invalid_token_2026-02-18.json").read_bytes()


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("cpk_short", "Missing or invalid authorization header(s)"),
        ("cak_unknown", "Invalid token or user not found"),
    ],
)
def test_other_bad_credentials_get_their_401(sim: SimProcess, token: str, message: str) -> None:
    response = httpx2.get(f"{sim.llm_base}/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json() == {"detail": message}


def test_single_model_paths_are_not_routes(sim: SimProcess) -> None:
    response = httpx2.get(f"{sim.llm_base}/models/Qwen/Qwen3-32B")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_listing_is_counted_in_stats(sim: SimProcess) -> None:
    httpx2.get(f"{sim.llm_base}/models")
    httpx2.get(f"{sim.llm_base}/models", headers={"Authorization": "Bearer nope"})
    stats = sim.stats()
    assert stats["requests"]["models"]["total"] == 2
    assert stats["statuses"] == {"200": 1, "401": 1}
