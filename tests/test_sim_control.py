"""The simulator's control surface and host dispatch, over real loopback HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from chat_support import HELLO, PLAIN_MODEL, post_chat, sse_chunks
from sim_process import SimProcess, sim_process

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chutes-live-2026-02-18"


def test_scenario_validation_is_clear(sim: SimProcess) -> None:
    for body, message in [
        ({"faults": []}, "expected"),
        ({"faults": ["teapot"]}, "unknown fault 'teapot'"),
        ({"faults": ["429"], "route": "images"}, "route must be one of"),
        ({"faults": ["429"], "model": 3}, "model must be a string"),
    ]:
        response = httpx2.post(f"{sim.url}/_sim/scenario", json=body)
        assert response.status_code == 422
        assert message in response.json()["detail"]
    response = httpx2.post(f"{sim.url}/_sim/scenario", content=b"{nope")
    assert response.status_code == 422
    assert "not JSON" in response.json()["detail"]


def test_scenarios_can_be_listed_and_cleared(sim: SimProcess) -> None:
    created = httpx2.post(f"{sim.url}/_sim/scenario", json={"faults": ["503", "ok"], "route": "chat"})
    assert created.status_code == 201
    assert httpx2.get(f"{sim.url}/_sim/scenario").json()["pending"] == [
        {"route": "chat", "model": None, "caller": None, "faults": ["503", "ok"]}
    ]
    httpx2.delete(f"{sim.url}/_sim/scenario")
    assert httpx2.get(f"{sim.url}/_sim/scenario").json()["pending"] == []


def test_catalog_can_be_replaced_and_restored(sim: SimProcess) -> None:
    entry = {"id": "acme/Tiny-1B", "owned_by": "sglang", "max_model_len": 4096, "confidential_compute": False}
    assert httpx2.put(f"{sim.url}/_sim/catalog", json={"object": "list", "data": [entry]}).json() == {
        "models": 1
    }
    served = httpx2.get(f"{sim.llm_base}/models").json()["data"]
    assert [m["id"] for m in served] == ["acme/Tiny-1B"]
    assert "permission" not in served[0]
    assert served[0]["chute_id"]
    assert httpx2.delete(f"{sim.url}/_sim/catalog").json() == {"models": 61}
    bad = httpx2.put(f"{sim.url}/_sim/catalog", json={"data": [{"name": "no id"}]})
    assert bad.status_code == 422
    assert "no string 'id'" in bad.json()["detail"]


def test_config_knobs_validate_and_apply(sim: SimProcess) -> None:
    assert httpx2.patch(f"{sim.url}/_sim/config", json={"ttft_ms": 5}).json()["ttft_ms"] == 5
    for body in ({"ttft_ms": -1}, {"ttft": 1}, {"ttft_ms": "5"}, {"ttft_ms": True}):
        assert httpx2.patch(f"{sim.url}/_sim/config", json=body).status_code == 422
    sim.reset()
    assert httpx2.get(f"{sim.url}/_sim/config").json()["ttft_ms"] == 0


def test_stats_count_tcp_connections(sim: SimProcess) -> None:
    with httpx2.Client() as client:
        for _ in range(5):
            client.get(f"{sim.llm_base}/models").raise_for_status()
    with httpx2.Client() as other:
        other.get(f"{sim.llm_base}/models").raise_for_status()
    stats = sim.stats()
    assert stats["requests"]["models"]["total"] == 6
    # the reset call and the stats call use connections of their own
    assert 2 <= stats["tcp_connections"] <= 4


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v1/models", {}, 200),
        ("/llm/v1/models", {}, 200),
        ("/v1/models", {"Host": "llm.chutes.ai"}, 200),
        ("/embed/v1/models", {}, 404),
        ("/api/users/me", {}, 401),
        ("/users/me", {}, 401),  # a GET on the llm host falls through to the REST routes
        ("/users/me", {"Host": "api.chutes.ai"}, 401),
        ("/chute/no-such-chute/v1/models", {}, 404),
    ],
)
def test_requests_find_their_host(sim: SimProcess, path: str, headers: dict[str, str], status: int) -> None:
    assert httpx2.get(sim.url + path, headers=headers).status_code == status


def test_custom_catalog_file(tmp_path: Path) -> None:
    capture = json.loads((FIXTURES / "models_2026-02-18.json").read_text())
    capture["data"] = capture["data"][:3]
    path = tmp_path / "models.json"
    path.write_text(json.dumps(capture))
    with sim_process("--catalog", str(path)) as own:
        ids = [m["id"] for m in httpx2.get(f"{own.llm_base}/models").json()["data"]]
    assert ids == [m["id"] for m in capture["data"]]


def test_answer_tokens_sets_the_length_of_text_answers(sim: SimProcess) -> None:
    def completion_tokens() -> tuple[int, str]:
        body = {
            "model": PLAIN_MODEL,
            "messages": HELLO,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        chunks = sse_chunks(post_chat(sim, body).text)
        text = "".join(
            chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk.get("choices")
        )
        return chunks[-1]["usage"]["completion_tokens"], text

    natural, natural_text = completion_tokens()
    assert 20 <= natural <= 60
    assert httpx2.patch(f"{sim.url}/_sim/config", json={"answer_tokens": 500}).json()["answer_tokens"] == 500
    long, long_text = completion_tokens()
    assert long == 500
    assert len(long_text.split()) == 500
    assert completion_tokens() == (long, long_text)  # still deterministic
    sim.reset()
    assert completion_tokens() == (natural, natural_text)
