"""Embeddings on the simulator: the embed host, per-chute hosts (by path and by `Host`), errors and faults."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx2
import openai
import pytest
from sim_process import SimProcess

from chutes_mcp.sim.catalog import chute_id_for
from chutes_mcp.sim.identity import demo_api_key

KEY = demo_api_key()
AUTH = {"Authorization": f"Bearer {KEY}"}
BGE_M3_CHUTE = "chutes-baai-bge-m3"
REAL_DIMENSIONS = {
    "Qwen/Qwen3-Embedding-8B": 4096,
    "Qwen/Qwen3-Embedding-8B-TEE": 4096,
    "Qwen/Qwen3-Embedding-0.6B": 1024,
    "BAAI/bge-m3": 1024,
    "BAAI/bge-large-en-v1.5": 1024,
    "intfloat/multilingual-e5-large": 1024,
}


def _sdk(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0)


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (_norm(a) * _norm(b))


def _embed(sim: SimProcess, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.post(f"{sim.embed_base}/embeddings", json=body, headers={**AUTH, **(headers or {})})


def _vector(sim: SimProcess, model: str, text: str) -> list[float]:
    response = _embed(sim, {"model": model, "input": text})
    response.raise_for_status()
    vector: list[float] = response.json()["data"][0]["embedding"]
    return vector


@pytest.mark.parametrize(("model", "dimension"), REAL_DIMENSIONS.items())
def test_embed_host_serves_unit_vectors_of_each_models_real_dimension(
    sim: SimProcess, model: str, dimension: int
) -> None:
    with _sdk(sim.embed_base) as client:
        result = client.embeddings.create(model=model, input=["alpha", "beta"], encoding_format="float")
    assert [item.index for item in result.data] == [0, 1]
    for item in result.data:
        assert len(item.embedding) == dimension
        assert math.isclose(_norm(item.embedding), 1.0, rel_tol=1e-9)
    assert result.usage.prompt_tokens > 0
    assert result.usage.total_tokens == result.usage.prompt_tokens


def test_the_plain_qwen3_8b_name_is_served_by_its_tee_chute(sim: SimProcess) -> None:
    with _sdk(sim.embed_base) as client:
        result = client.embeddings.create(model="Qwen/Qwen3-Embedding-8B", input="x", encoding_format="float")
    assert result.model == "Qwen/Qwen3-Embedding-8B-TEE"


def test_the_sdks_default_base64_encoding_carries_the_same_vector(sim: SimProcess) -> None:
    with _sdk(sim.embed_base) as client:
        floats = client.embeddings.create(model="BAAI/bge-m3", input="same text", encoding_format="float")
        # Without encoding_format the SDK asks for base64 and decodes the float32 bytes itself.
        decoded = client.embeddings.create(model="BAAI/bge-m3", input="same text")
    assert len(decoded.data[0].embedding) == 1024
    for a, b in zip(floats.data[0].embedding, decoded.data[0].embedding, strict=True):
        assert math.isclose(a, b, abs_tol=1e-6)


def test_response_has_the_reference_shape(sim: SimProcess) -> None:
    response = _embed(sim, {"model": "BAAI/bge-m3", "input": ["a", "b"], "encoding_format": "float"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"].startswith("embd-")
    assert body["object"] == "list"
    assert body["model"] == "BAAI/bge-m3"
    assert [{k: v for k, v in item.items() if k != "embedding"} for item in body["data"]] == [
        {"index": 0, "object": "embedding"},
        {"index": 1, "object": "embedding"},
    ]
    usage = body["usage"]
    assert set(usage) == {"prompt_tokens", "total_tokens", "completion_tokens", "prompt_tokens_details"}
    assert usage["completion_tokens"] == 0
    assert usage["prompt_tokens_details"] is None
    assert usage["total_tokens"] == usage["prompt_tokens"]


def test_response_carries_the_invocation_headers_and_counts_against_the_quota(sim: SimProcess) -> None:
    first = _embed(sim, {"model": "BAAI/bge-m3", "input": "a"})
    second = _embed(sim, {"model": "BAAI/bge-m3", "input": "a"})
    assert first.headers["x-chutes-invocationid"] != second.headers["x-chutes-invocationid"]
    assert first.headers["x-chutes-rl-user"] == "60"
    # The quota headers show the count before the request, so they move by one per request.
    assert int(second.headers["x-chutes-quota-used"]) == int(first.headers["x-chutes-quota-used"]) + 1
    stats = sim.stats()["requests"]["embeddings"]
    assert stats["total"] == 2
    assert stats["by_model"] == {"BAAI/bge-m3": 2}


def test_vectors_are_deterministic_per_model_and_text(sim: SimProcess) -> None:
    first = _vector(sim, "BAAI/bge-m3", "the quick brown fox")
    assert _vector(sim, "BAAI/bge-m3", "the quick brown fox") == first
    assert _vector(sim, "BAAI/bge-m3", "the quick brown dog") != first
    assert _vector(sim, "intfloat/multilingual-e5-large", "the quick brown fox") != first


def test_texts_sharing_words_are_closer_than_unrelated_texts(sim: SimProcess) -> None:
    query = _vector(sim, "BAAI/bge-m3", "how do I reset my password")
    related = _vector(sim, "BAAI/bge-m3", "reset your password from the settings page")
    unrelated = _vector(sim, "BAAI/bge-m3", "volcanic eruptions shape islands")
    assert _cosine(query, related) > _cosine(query, unrelated)


def test_dimensions_truncates_and_renormalises(sim: SimProcess) -> None:
    full = _vector(sim, "Qwen/Qwen3-Embedding-0.6B", "matryoshka")
    response = _embed(sim, {"model": "Qwen/Qwen3-Embedding-0.6B", "input": "matryoshka", "dimensions": 256})
    short = response.json()["data"][0]["embedding"]
    assert len(short) == 256
    assert math.isclose(_norm(short), 1.0, rel_tol=1e-9)
    assert math.isclose(_cosine(short, full[:256]), 1.0, rel_tol=1e-9)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"input": "x", "dimensions": 1025}, "dimensions"),
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": [[1, 2, 3]]}, "input"),
        ({"input": []}, "input"),
        ({}, "input"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
    ],
)
def test_requests_the_engine_refuses_get_its_400_relayed(
    sim: SimProcess, body: dict[str, Any], reason: str
) -> None:
    response = _embed(sim, {"model": "BAAI/bge-m3", **body})
    assert response.status_code == 400
    prefix = "Invalid request: Invalid request: "
    message = response.json()["detail"]
    assert message.startswith(prefix)
    engine_error = json.loads(message.removeprefix(prefix))
    assert engine_error["code"] == 400
    assert reason in engine_error["message"]


def test_input_longer_than_the_models_context_is_refused(sim: SimProcess) -> None:
    response = _embed(sim, {"model": "BAAI/bge-large-en-v1.5", "input": "word " * 600})
    assert response.status_code == 400
    assert "maximum context length is 512 tokens" in response.json()["detail"]


def test_embed_host_needs_a_model_it_knows(sim: SimProcess) -> None:
    # No model leaves chutes-api looking for the mega host's placeholder chute.
    assert _embed(sim, {"input": "x"}).json() == {"detail": "No matching chute found!"}
    unknown = _embed(sim, {"model": "nope/nothing", "input": "x"})
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "model not found: nope/nothing"}
    llm = _embed(sim, {"model": "Qwen/Qwen3-32B", "input": "x"})
    assert llm.json() == {"detail": "model not found: Qwen/Qwen3-32B"}
    bad_json = httpx2.post(f"{sim.embed_base}/embeddings", content=b"{", headers=AUTH)
    assert bad_json.status_code == 400
    assert bad_json.json()["detail"].startswith("Invalid request JSON: ")


def test_embed_host_accepts_a_chute_id_and_a_user_alias(sim: SimProcess) -> None:
    by_id = _embed(sim, {"model": chute_id_for("BAAI/bge-m3"), "input": "x"})
    assert by_id.json()["model"] == "BAAI/bge-m3"
    created = httpx2.post(
        f"{sim.management_base}/model_aliases/",
        json={"alias": "my-embedder", "chute_ids": ["BAAI/bge-m3"]},
        headers=AUTH,
    )
    assert created.status_code == 201
    assert _embed(sim, {"model": "my-embedder", "input": "x"}).json()["model"] == "BAAI/bge-m3"


def test_the_llm_host_has_no_embeddings(sim: SimProcess) -> None:
    response = httpx2.post(
        f"{sim.url}/v1/embeddings", json={"model": "BAAI/bge-m3", "input": "x"}, headers=AUTH
    )
    assert response.status_code == 404


def test_invocation_auth_errors(sim: SimProcess) -> None:
    missing = httpx2.post(f"{sim.embed_base}/embeddings", json={"model": "BAAI/bge-m3", "input": "x"})
    assert missing.status_code == 429
    assert "nginx" in missing.text
    invalid = _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, {"Authorization": "Bearer invalid-token"})
    assert invalid.status_code == 401
    assert invalid.json() == {"detail": "Invalid token."}


def test_tee_only_header_refuses_non_tee_embedding_chutes(sim: SimProcess) -> None:
    tee_only = {"X-TEE-Only": "true"}
    assert _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, tee_only).status_code == 426
    assert _embed(sim, {"model": "Qwen/Qwen3-Embedding-8B", "input": "x"}, tee_only).status_code == 200


# Per-chute hosts


def test_per_chute_path_serves_embeddings_without_or_with_any_model(sim: SimProcess) -> None:
    base = f"{sim.url}/chute/{BGE_M3_CHUTE}/v1"
    with _sdk(base) as client:
        result = client.embeddings.create(model="whatever", input="x", encoding_format="float")
    assert result.model == "BAAI/bge-m3"
    assert len(result.data[0].embedding) == 1024
    for body in ({"input": "x"}, {"model": None, "input": "x"}):
        response = httpx2.post(f"{base}/embeddings", json=body, headers=AUTH)
        assert response.status_code == 200
        assert response.json()["model"] == "BAAI/bge-m3"


def test_per_chute_vectors_equal_the_embed_hosts(sim: SimProcess) -> None:
    per_chute = httpx2.post(
        f"{sim.url}/chute/chutes-qwen-qwen3-embedding-8b/v1/embeddings", json={"input": "same"}, headers=AUTH
    )
    # That host is the plain chute's own; the embed host re-routes the plain name to the TEE twin,
    # which runs the same weights.
    assert per_chute.json()["model"] == "Qwen/Qwen3-Embedding-8B"
    assert per_chute.json()["data"][0]["embedding"] == _vector(sim, "Qwen/Qwen3-Embedding-8B", "same")


def test_per_chute_host_header_routes_to_the_chute(sim: SimProcess) -> None:
    headers = {**AUTH, "Host": f"{BGE_M3_CHUTE}.chutes.ai"}
    response = httpx2.post(f"{sim.url}/v1/embeddings", json={"input": "x"}, headers=headers)
    assert response.status_code == 200
    assert response.json()["model"] == "BAAI/bge-m3"
    assert len(response.json()["data"][0]["embedding"]) == 1024


def test_per_chute_models_needs_auth_and_lists_the_one_chute(sim: SimProcess) -> None:
    url = f"{sim.url}/chute/{BGE_M3_CHUTE}/v1/models"
    assert httpx2.get(url).json() == {"detail": "Authentication required."}
    body = httpx2.get(url, headers=AUTH).json()
    assert body["object"] == "list"
    [card] = body["data"]
    assert card["id"] == "BAAI/bge-m3"
    assert card["max_model_len"] == 8192
    llm = httpx2.get(f"{sim.url}/chute/chutes-qwen-qwen3-32b/v1/models", headers=AUTH).json()
    assert [entry["id"] for entry in llm["data"]] == ["Qwen/Qwen3-32B"]
    assert "pricing" not in llm["data"][0]


def test_per_chute_chat_is_served_by_llm_chutes_whatever_the_model(sim: SimProcess) -> None:
    with _sdk(f"{sim.url}/chute/chutes-qwen-qwen3-32b/v1") as client:
        reply = client.chat.completions.create(
            model="anything", messages=[{"role": "user", "content": "hi"}], max_tokens=8
        )
    assert reply.model == "Qwen/Qwen3-32B"
    headers = {**AUTH, "Host": "chutes-qwen-qwen3-32b.chutes.ai"}
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    by_host = httpx2.post(f"{sim.url}/v1/chat/completions", json=body, headers=headers)
    assert by_host.json()["model"] == "Qwen/Qwen3-32B"


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("path", ["/v1/embeddings", "/v1/chat/completions", "/v1/models", "/v1/other"])
def test_per_chute_unknown_chute_is_404_before_any_auth(sim: SimProcess, method: str, path: str) -> None:
    response = httpx2.request(method, f"{sim.url}/chute/no-such-chute{path}", json={"input": "x"})
    assert (response.status_code, response.json()) == (404, {"detail": "No matching chute found!"})


def test_per_chute_foreign_cords_are_404(sim: SimProcess) -> None:
    llm = httpx2.post(
        f"{sim.url}/chute/chutes-qwen-qwen3-32b/v1/embeddings", json={"input": "x"}, headers=AUTH
    )
    assert (llm.status_code, llm.json()) == (404, {"detail": "No matching cord found!"})
    chat = httpx2.post(
        f"{sim.url}/chute/{BGE_M3_CHUTE}/v1/chat/completions",
        json={"messages": [{"role": "user", "content": "hi"}]},
        headers=AUTH,
    )
    assert (chat.status_code, chat.json()) == (404, {"detail": "No matching cord found!"})
    other = httpx2.post(f"{sim.url}/chute/{BGE_M3_CHUTE}/v1/rerank", json={}, headers=AUTH)
    assert (other.status_code, other.json()) == (404, {"detail": "No matching cord found!"})


def test_per_chute_bad_json_uses_the_per_chute_wording(sim: SimProcess) -> None:
    response = httpx2.post(f"{sim.url}/chute/{BGE_M3_CHUTE}/v1/embeddings", content=b"{", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("invalid request JSON payload: ")


# Faults

REPLACING_FAULTS = [
    ("429", 429, {"detail": "Infrastructure is at maximum capacity, try again later"}),
    ("503", 503, {"detail": f"No instances available (yet) for chute_id='{chute_id_for('BAAI/bge-m3')}'"}),
    ("500", 500, {"detail": "exhausted all available targets to no avail"}),
]


@pytest.mark.parametrize(("fault", "status", "body"), REPLACING_FAULTS)
def test_faults_by_header_replace_the_answer(sim: SimProcess, fault: str, status: int, body: Any) -> None:
    response = _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, {"X-Sim-Fault": fault})
    assert (response.status_code, response.json()) == (status, body)


@pytest.mark.parametrize(("fault", "status", "body"), REPLACING_FAULTS)
def test_faults_by_control_endpoint_replace_the_answer(
    sim: SimProcess, fault: str, status: int, body: Any
) -> None:
    scenario = {"faults": [fault], "route": "embeddings", "model": "BAAI/bge-m3"}
    httpx2.post(f"{sim.url}/_sim/scenario", json=scenario).raise_for_status()
    response = _embed(sim, {"model": "BAAI/bge-m3", "input": "x"})
    assert (response.status_code, response.json()) == (status, body)
    assert _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}).status_code == 200


def test_other_replacing_faults_on_embeddings(sim: SimProcess) -> None:
    script = "429-html,402,426"
    html = _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, {"X-Sim-Fault": script})
    assert (html.status_code, "nginx" in html.text) == (429, True)
    quota = _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, {"X-Sim-Fault": script})
    assert quota.status_code == 402
    assert "quota_reset_timestamp" in quota.json()["detail"]
    assert _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, {"X-Sim-Fault": script}).status_code == 426
    assert _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, {"X-Sim-Fault": script}).status_code == 200
    assert sim.stats()["faults_served"] == {"429-html": 1, "402": 1, "426": 1}


def test_header_script_then_normal_service_through_the_sdk(sim: SimProcess) -> None:
    client = openai.OpenAI(
        base_url=sim.embed_base, api_key=KEY, max_retries=0, default_headers={"X-Sim-Fault": "429,ok"}
    )
    with client:
        with pytest.raises(openai.RateLimitError):
            client.embeddings.create(model="BAAI/bge-m3", input="x")
        assert len(client.embeddings.create(model="BAAI/bge-m3", input="x").data) == 1


def test_scenario_for_chat_does_not_touch_embeddings(sim: SimProcess) -> None:
    httpx2.post(f"{sim.url}/_sim/scenario", json={"faults": ["503"], "route": "chat"}).raise_for_status()
    assert _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}).status_code == 200


@pytest.mark.parametrize("by_header", [True, False])
def test_malformed_fault_sends_a_truncated_json_body(sim: SimProcess, by_header: bool) -> None:
    headers = {"X-Sim-Fault": "malformed"} if by_header else {}
    if not by_header:
        scenario = {"faults": ["malformed"], "route": "embeddings"}
        httpx2.post(f"{sim.url}/_sim/scenario", json=scenario).raise_for_status()
    response = _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, headers)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


@pytest.mark.parametrize("by_header", [True, False])
def test_drop_fault_cuts_the_connection_mid_body(sim: SimProcess, by_header: bool) -> None:
    headers = {"X-Sim-Fault": "drop"} if by_header else {}
    if not by_header:
        httpx2.post(
            f"{sim.url}/_sim/scenario", json={"faults": ["drop"], "route": "embeddings"}
        ).raise_for_status()
    with pytest.raises(httpx2.TransportError):
        _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, headers)
    assert sim.stats()["faults_served"] == {"drop": 1}


def test_slow_first_byte_still_answers(sim: SimProcess) -> None:
    response = _embed(sim, {"model": "BAAI/bge-m3", "input": "x"}, {"X-Sim-Fault": "slow-first-byte:20"})
    assert response.status_code == 200
    assert sim.stats()["faults_served"] == {"slow-first-byte:20": 1}


def test_faults_reach_per_chute_embeddings(sim: SimProcess) -> None:
    response = httpx2.post(
        f"{sim.url}/chute/{BGE_M3_CHUTE}/v1/embeddings",
        json={"input": "x"},
        headers={**AUTH, "X-Sim-Fault": "503"},
    )
    assert response.status_code == 503
