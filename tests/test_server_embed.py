"""The embed tool through a real `chutes-mcp serve`, in both protocol eras, against the simulator."""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Any, Literal

import httpx2
import pytest
from mcp import Client
from mcp_support import ERAS, error_of, mcp_session, text_of
from sim_process import SimProcess

from chutes_mcp.chutes.embeddings.batches import BATCH_SIZE

pytestmark = pytest.mark.anyio

Era = Literal["auto", "legacy"]


async def _embed(client: Client, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
    result = await client.call_tool("embed", arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content, text_of(result)


def _script(sim: SimProcess, *faults: str) -> None:
    scenario = {"faults": list(faults), "route": "embeddings"}
    httpx2.post(f"{sim.url}/_sim/scenario", json=scenario).raise_for_status()


@pytest.mark.parametrize("mode", ERAS)
async def test_embed_a_string_and_a_list(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    texts = [f"text number {index}" for index in range(2 * BATCH_SIZE + 5)]
    progress: list[tuple[float, float | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total))

    async with mcp_session(sim, tmp_path, mode) as client:
        one, one_text = await _embed(client, {"input": "hello world"})
        result = await client.call_tool(
            "embed", {"input": texts, "model": "BAAI/bge-m3"}, progress_callback=on_progress
        )
        many, many_text = result.structured_content or {}, text_of(result)
        single, _ = await _embed(client, {"input": texts[BATCH_SIZE + 1], "model": "baai/BGE-M3"})
    assert (one["model"], one["count"], one["dimensions"], one["batches"]) == (
        "Qwen/Qwen3-Embedding-8B",
        1,
        4096,
        1,
    )
    assert len(one["vectors"]) == 1
    assert len(one["vectors"][0]) == 4096
    assert one["usage"]["prompt_tokens"] > 0
    assert one["cost_usd"] is None
    assert "no per-token price" in one["cost_note"]
    assert "1 vector of 4096 dimensions" in one_text
    assert len(one_text) < 400
    assert (many["count"], many["dimensions"], many["batches"]) == (len(texts), 1024, 3)
    assert len(many["invocation_ids"]) == 3
    # 69 x 1024 values are past what `auto` sends as floats: base64 of float32, decoded the OpenAI way.
    assert (one["encoding"], many["encoding"], single["encoding"]) == ("float", "base64", "float")
    decoded = [list(struct.unpack("<1024f", base64.b64decode(vector))) for vector in many["vectors"]]
    # Order survives batching: the vector of one text is the same alone or in the middle of a list.
    assert decoded[BATCH_SIZE + 1] == single["vectors"][0]
    assert f"{len(texts)} vectors of 1024 dimensions" in many_text
    assert f"... and {len(texts) - 3} more." in many_text
    assert len(many_text) < 600
    assert progress == [(BATCH_SIZE, len(texts)), (2 * BATCH_SIZE, len(texts)), (len(texts), len(texts))]
    assert sim.stats()["requests"]["embeddings"]["by_model"]["BAAI/bge-m3"] == 4


@pytest.mark.parametrize("mode", ERAS)
async def test_embed_dimensions_and_models(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        short, _ = await _embed(client, {"input": ["a", "b"], "dimensions": 256})
        small, _ = await _embed(client, {"input": "a", "model": "Qwen3-Embedding-0.6B"})
        too_many = await client.call_tool("embed", {"input": "a", "model": "BAAI/bge-m3", "dimensions": 2048})
    assert (short["dimensions"], [len(v) for v in short["vectors"]]) == (256, [256, 256])
    assert (small["model"], small["dimensions"]) == ("Qwen/Qwen3-Embedding-0.6B", 1024)
    refused = error_of(too_many)
    assert refused["code"] == "bad_request"
    assert "1024" in refused["hint"]


@pytest.mark.parametrize("mode", ERAS)
async def test_embed_tee_only(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        private, _ = await _embed(client, {"input": "secret", "tee_only": True})
        plain = await client.call_tool("embed", {"input": "secret", "model": "BAAI/bge-m3", "tee_only": True})
    assert (private["model"], private["tee"]) == ("Qwen/Qwen3-Embedding-8B-TEE", True)
    refused = error_of(plain)
    assert refused["code"] == "tee_required"
    assert "Qwen/Qwen3-Embedding-8B-TEE" in refused["hint"]
    async with mcp_session(sim, tmp_path, mode, CHUTES_TEE_ONLY="true") as client:
        by_server, _ = await _embed(client, {"input": "secret"})
    assert by_server["tee"] is True


@pytest.mark.parametrize("mode", ERAS)
async def test_embed_argument_and_model_errors(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        unknown = await client.call_tool("embed", {"input": "a", "model": "BAAI/bge-m4"})
        empty_list = await client.call_tool("embed", {"input": []})
        empty_text = await client.call_tool("embed", {"input": ["a", ""]})
        too_long = await client.call_tool(
            "embed", {"input": "word " * 600, "model": "BAAI/bge-large-en-v1.5"}
        )
    not_found = error_of(unknown)
    # A name outside the list is asked of Chutes (the simulator's 404), and the nearest names are given.
    assert (not_found["code"], not_found["status"]) == ("model_not_found", 404)
    assert "BAAI/bge-m3" in not_found["message"]
    assert error_of(empty_list)["code"] == "invalid_arguments"
    assert error_of(empty_text)["code"] == "invalid_arguments"
    upstream = error_of(too_long)
    assert upstream["code"] == "bad_request"
    assert "maximum context length" in upstream["message"]


@pytest.mark.parametrize("mode", ERAS)
async def test_embed_upstream_failures(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    texts = [f"t{index}" for index in range(BATCH_SIZE + 1)]
    async with mcp_session(sim, tmp_path, mode, CHUTES_MAX_RETRIES="0") as client:
        outcomes = {}
        for fault in ("429", "503", "500", "402", "401", "403", "malformed"):
            _script(sim, fault)
            outcomes[fault] = error_of(
                await client.call_tool("embed", {"input": "x", "model": "BAAI/bge-m3"})
            )
        _script(sim, "ok", "402")
        second_batch = error_of(await client.call_tool("embed", {"input": texts, "model": "BAAI/bge-m3"}))
    assert {fault: payload["code"] for fault, payload in outcomes.items()} == {
        "429": "rate_limited",
        "503": "model_unavailable",
        "500": "upstream_error",
        "402": "quota_exhausted",
        "401": "auth_invalid",
        "403": "auth_scope",
        "malformed": "upstream_error",
    }
    assert outcomes["429"]["retryable"] is True
    assert outcomes["503"]["status"] == 503
    assert second_batch["code"] == "quota_exhausted"


@pytest.mark.parametrize("mode", ERAS)
async def test_embed_timeout_and_network(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode, CHUTES_MAX_RETRIES="0", CHUTES_TIMEOUT_S="0.3") as client:
        _script(sim, "slow-first-byte:3000")
        slow = await client.call_tool("embed", {"input": "x", "model": "BAAI/bge-m3"})
    assert error_of(slow)["code"] == "timeout"
    unreachable = {"CHUTES_EMBED_BASE": "http://127.0.0.1:9/v1", "CHUTES_MAX_RETRIES": "0"}
    async with mcp_session(sim, tmp_path, mode, **unreachable) as client:
        offline = await client.call_tool("embed", {"input": "x"})
    assert error_of(offline)["code"] == "network"
