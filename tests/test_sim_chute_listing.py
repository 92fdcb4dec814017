"""The simulator's `GET /chutes/` on the api host, and where its embedding chutes are served (reference §1, §4, §8)."""

from __future__ import annotations

from typing import Any

import httpx2
from mcp_support import API_KEY
from sim_process import SimProcess

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _list(sim: SimProcess, headers: dict[str, str] | None = None, **params: Any) -> httpx2.Response:
    return httpx2.get(f"{sim.management_base}/chutes/", params=params, headers=headers or {})


def test_embedding_chutes_are_listed_by_template(sim: SimProcess) -> None:
    embedding = _list(sim, include_public="true", template="embedding", limit=500)
    tei = _list(sim, include_public="true", template="tei", limit=500)
    assert embedding.status_code == tei.status_code == 200
    body = embedding.json()
    assert set(body) == {"total", "page", "limit", "items", "cord_refs"}
    names = [item["name"] for item in body["items"]]
    assert body["total"] == len(names) == 7
    assert {"Qwen/Qwen3-Embedding-8B-TEE", "BAAI/bge-m3", "Qwen/Qwen3-Embedding-4B"} <= set(names)
    assert [item["name"] for item in tei.json()["items"]] == ["sentence-transformers/all-MiniLM-L6-v2"]
    first = body["items"][0]
    assert first["standard_template"] == "embedding"
    assert first["slug"] == "chutes-" + first["name"].lower().replace("/", "-").replace(".", "-")
    assert first["cords"] is None
    cords = body["cord_refs"][first["cord_ref_id"]]
    assert {"method": "POST", "path": "/v1/embeddings"}.items() <= cords[0].items()
    tee = {item["name"]: item["tee"] for item in body["items"]}
    assert (tee["Qwen/Qwen3-Embedding-8B-TEE"], tee["BAAI/bge-m3"]) == (True, False)
    counts = [item["invocation_count"] for item in body["items"]]
    assert counts == sorted(counts, reverse=True)


def test_everything_paged_and_filtered(sim: SimProcess) -> None:
    everything = _list(sim, limit=5000).json()
    templates = {item["standard_template"] for item in everything["items"]}
    assert templates == {"vllm", "embedding", "tei"}
    assert everything["total"] == len(everything["items"]) > 50
    second = _list(sim, limit=2, page=1).json()
    assert [item["name"] for item in second["items"]] == [item["name"] for item in everything["items"][2:4]]
    assert (second["page"], second["limit"], second["total"]) == (1, 2, everything["total"])
    by_offset = _list(sim, limit=2, offset=3).json()
    assert by_offset["items"][0]["name"] == everything["items"][3]["name"]
    named = _list(sim, name="BGE", limit=100).json()
    assert {item["name"] for item in named["items"]} == {"BAAI/bge-m3", "BAAI/bge-large-en-v1.5"}
    assert _list(sim, template="other").json()["total"] == 0


def test_who_sees_what(sim: SimProcess) -> None:
    anonymous = _list(sim, template="embedding")
    signed_in = _list(sim, AUTH, include_public="true", template="embedding")
    own_only = _list(sim, AUTH, template="embedding")
    wrong = _list(sim, {"Authorization": "Bearer cpk_nope"}, include_public="true")
    assert anonymous.json()["total"] == signed_in.json()["total"] == 7
    assert own_only.json() | {"cord_refs": {}} == {
        "total": 0,
        "page": 0,
        "limit": 25,
        "items": [],
        "cord_refs": {},
    }
    assert wrong.status_code == 401


def test_bad_paging(sim: SimProcess) -> None:
    both = _list(sim, page=1, offset=2)
    assert (both.status_code, both.json()) == (
        400,
        {"detail": "Cannot specify both page and offset, select <= 1 of these."},
    )
    for params, kind in (({"limit": 0}, "greater_than_equal"), ({"limit": 5001}, "less_than_equal")):
        refused = _list(sim, **params)
        assert refused.status_code == 422
        assert [(error["type"], error["loc"]) for error in refused.json()["detail"]] == [
            (kind, ["query", "limit"])
        ]
    assert _list(sim, page="x").json()["detail"][0]["type"] == "int_parsing"


def test_a_tei_chute_is_served_at_its_own_host_only(sim: SimProcess) -> None:
    body = {"model": "sentence-transformers/all-MiniLM-L6-v2", "input": "x"}
    embed_host = httpx2.post(f"{sim.embed_base}/embeddings", json=body, headers=AUTH)
    own_host = httpx2.post(
        f"{sim.url}/chute/chutes-sentence-transformers-all-minilm-l6-v2/v1/embeddings",
        json={"input": "x"},
        headers=AUTH,
    )
    assert (embed_host.status_code, embed_host.json()) == (
        404,
        {"detail": "model not found: sentence-transformers/all-MiniLM-L6-v2"},
    )
    assert own_host.status_code == 200
    assert len(own_host.json()["data"][0]["embedding"]) == 384
