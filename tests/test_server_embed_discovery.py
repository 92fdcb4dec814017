"""Any embedding chute: those only `GET /chutes/` lists, and names nobody lists, through a real server.

The simulator lists two embedding chutes the bundled list does not have: `Qwen/Qwen3-Embedding-4B`
(2560 dimensions, the `embedding` template) and `sentence-transformers/all-MiniLM-L6-v2` (384, `tei`,
served at its own host only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.types import TextResourceContents
from mcp_support import ERAS, error_of, mcp_session, text_of
from sim_process import SimProcess

from chutes_mcp.chutes.embeddings.directory import CACHE_FILE
from chutes_mcp.server.tools.embed import MAX_INPUTS, inputs_that_fit

pytestmark = pytest.mark.anyio

Era = Literal["auto", "legacy"]
UNBUNDLED = "Qwen/Qwen3-Embedding-4B"
TEI = "sentence-transformers/all-MiniLM-L6-v2"
DEAD = "http://127.0.0.1:9"


def _requests(sim: SimProcess, model: str) -> int:
    embeddings: dict[str, Any] = sim.stats()["requests"].get("embeddings", {})
    return int(embeddings.get("by_model", {}).get(model, 0))


async def _read(client: Client, uri: str) -> dict[str, Any]:
    result = await client.read_resource(uri)
    content = result.contents[0]
    assert isinstance(content, TextResourceContents)
    document: dict[str, Any] = json.loads(content.text)
    return document


async def _ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    content: dict[str, Any] = result.structured_content
    return content


@pytest.mark.parametrize("mode", ERAS)
async def test_listed_chutes_outside_the_bundle(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    texts = [f"text {index}" for index in range(MAX_INPUTS)]
    async with mcp_session(sim, tmp_path, mode) as client:
        # Its length is unknown until it answers: the first batch tells it, and the rest is not sent.
        first = error_of(await client.call_tool("embed", {"input": texts, "model": UNBUNDLED}))
        after_first = _requests(sim, UNBUNDLED)
        # Now known (and the short name resolves, from the listing): refused before anything is sent.
        again = error_of(await client.call_tool("embed", {"input": texts, "model": "qwen3-embedding-4b"}))
        after_again = _requests(sim, UNBUNDLED)
        fitting = await _ok(await client.call_tool("embed", {"input": ["a", "b"], "model": UNBUNDLED}))
        tei = await _ok(await client.call_tool("embed", {"input": "a", "model": "all-MiniLM-L6-v2"}))
        listed = await _read(client, "chutes://embedding-models")
    fit = inputs_that_fit(2560, "base64")
    assert (first["code"], first["max_inputs"], first["dimensions"]) == ("result_too_large", fit, 2560)
    assert "first batch was embedded" in first["message"]
    assert after_first == 1
    assert (again["code"], again["max_inputs"]) == ("result_too_large", fit)
    assert "first batch" not in again["message"]
    assert after_again == 1
    assert (fitting["model"], fitting["dimensions"], fitting["tee"], fitting["count"]) == (
        UNBUNDLED,
        2560,
        False,
        2,
    )
    assert (tei["model"], tei["dimensions"]) == (TEI, 384)
    assert _requests(sim, TEI) == 1
    assert (listed["source"], listed["stale"], listed["last_error"]) == ("live", False, None)
    assert listed["default"] == "Qwen/Qwen3-Embedding-8B"
    rows = {row["id"]: row for row in listed["models"]}
    assert listed["count"] == len(rows) == 8
    assert rows[UNBUNDLED] == {
        "id": UNBUNDLED,
        "dimensions": 2560,  # learned from its first answer
        "tee": False,
        "template": "embedding",
        "source": "discovered",
    }
    assert (rows[TEI]["template"], rows[TEI]["dimensions"]) == ("tei", 384)
    assert (rows["BAAI/bge-m3"]["dimensions"], rows["BAAI/bge-m3"]["source"]) == (1024, "discovered")
    # The listing is kept on disk like the LLM catalog, for a start without network.
    saved = json.loads((tmp_path / CACHE_FILE).read_text("utf-8"))
    assert {item["name"] for item in saved["data"]} >= {UNBUNDLED, TEI, "BAAI/bge-m3"}


@pytest.mark.parametrize("mode", ERAS)
async def test_unlisted_names_go_to_chutes(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    """Without the listing (its host is down) a full name is still served; Chutes' 404 names the nearest."""
    async with mcp_session(sim, tmp_path, mode, CHUTES_MANAGEMENT_BASE=DEAD) as client:
        served = await _ok(await client.call_tool("embed", {"input": "a", "model": UNBUNDLED}))
        unknown = error_of(
            await client.call_tool("embed", {"input": "a", "model": "Qwen/Qwen3-Embedding-5B"})
        )
        short = error_of(await client.call_tool("embed", {"input": "a", "model": "qwen3-embedding-4b"}))
        tee_only = error_of(
            await client.call_tool("embed", {"input": "a", "model": UNBUNDLED, "tee_only": True})
        )
    assert (served["model"], served["dimensions"], served["tee"]) == (UNBUNDLED, 2560, None)
    # The simulator's 404, not a refusal from a list: it carries the HTTP status.
    assert (unknown["code"], unknown["status"]) == ("model_not_found", 404)
    assert "Qwen/Qwen3-Embedding-8B" in unknown["message"]
    assert "BAAI/bge-m3" in unknown["hint"]
    assert (short["code"], short["status"]) == ("model_not_found", 404)
    # TEE-only for a model outside the list rests on Chutes' X-TEE-Only check (HTTP 426).
    assert (tee_only["code"], tee_only["status"]) == ("tee_required", 426)


@pytest.mark.parametrize("mode", ERAS)
async def test_the_embedding_list_in_tee_only_mode_and_offline(
    sim: SimProcess, tmp_path: Path, mode: Era
) -> None:
    async with mcp_session(sim, tmp_path, mode, CHUTES_TEE_ONLY="true") as client:
        private = await _read(client, "chutes://embedding-models")
    async with mcp_session(sim, tmp_path / "offline", mode, CHUTES_MANAGEMENT_BASE=DEAD) as client:
        offline = await _read(client, "chutes://embedding-models")
    assert [row["id"] for row in private["models"]] == ["Qwen/Qwen3-Embedding-8B-TEE"]
    assert (offline["source"], offline["stale"], offline["count"]) == ("bundled", True, 6)
