"""list_models, get_model and pick_model through a real `chutes-mcp serve`, in both protocol eras."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp_support import ERAS, error_of, mcp_session, text_of
from sim_process import SimProcess

pytestmark = pytest.mark.anyio

Era = Literal["auto", "legacy"]


async def _call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def _all_rows(client: Client, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    page = await _call(client, "list_models", {**arguments, "limit": 100})
    assert page["next_cursor"] is None
    rows: list[dict[str, Any]] = page["models"]
    return rows


@pytest.mark.parametrize("mode", ERAS)
async def test_list_models_filters(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        everything = await _call(client, "list_models", {"limit": 100})
        tee = await _all_rows(client, {"tee_only": True})
        tools = await _all_rows(client, {"features": ["tools", "reasoning"], "fields": ["features"]})
        vision = await _all_rows(client, {"input_modality": "image", "fields": ["input_modalities"]})
        long = await _all_rows(client, {"min_context": 200_000, "fields": ["context_length"]})
        cheap = await _all_rows(
            client,
            {"max_input_price": 0.1, "max_output_price": 0.3, "fields": ["input_price", "output_price"]},
        )
        excluded = await _all_rows(client, {"exclude": ["QWEN/qwen3-32b", "chutes/zai-org/GLM-4.7-TEE"]})
    assert everything["source"] in ("live", "cache")
    assert everything["stale"] is False
    total = everything["total"]
    assert total == len(everything["models"]) > 40
    assert tee
    assert all(row["tee"] is True for row in tee)
    assert len(tee) < total
    assert tools
    assert all({"tools", "reasoning"} <= set(row["features"]) for row in tools)
    assert vision
    assert all("image" in row["input_modalities"] for row in vision)
    assert long
    assert all(row["context_length"] >= 200_000 for row in long)
    assert cheap
    assert all(row["input_price"] <= 0.1 and row["output_price"] <= 0.3 for row in cheap)
    excluded_ids = {row["id"] for row in excluded}
    assert len(excluded) == total - 2
    assert not {"Qwen/Qwen3-32B", "zai-org/GLM-4.7-TEE"} & excluded_ids


@pytest.mark.parametrize("mode", ERAS)
async def test_list_models_query_sort_and_fields(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        glm = await _call(client, "list_models", {"query": "GLM 4.7", "fields": ["tee", "max_output_tokens"]})
        nothing = await client.call_tool("list_models", {"query": "qwen-9000-ultra"})
        by_price = await _all_rows(client, {"sort": "price", "fields": ["input_price", "output_price"]})
        by_context = await _all_rows(client, {"sort": "context", "fields": ["context_length"]})
        by_id = await _all_rows(client, {"sort": "id", "fields": []})
    assert glm["total"] == len(glm["models"]) >= 2
    for row in glm["models"]:
        assert "glm-4.7" in row["id"].lower()
        assert list(row) == ["id", "tee", "max_output_tokens"]
    assert glm["fields"] == ["id", "tee", "max_output_tokens"]
    empty = nothing.structured_content
    assert empty is not None
    assert empty["total"] == 0
    assert empty["models"] == []
    assert len(empty["suggestions"]) == 3
    assert all(s.startswith("Qwen/") for s in empty["suggestions"][:1])
    assert "No model matches" in text_of(nothing)
    known = [row for row in by_price if row["input_price"] is not None and row["output_price"] is not None]
    means = [(row["input_price"] + row["output_price"]) / 2 for row in known]
    assert means == sorted(means)
    assert by_price[: len(known)] == known
    contexts = [row["context_length"] or 0 for row in by_context]
    assert contexts == sorted(contexts, reverse=True)
    ids = [row["id"] for row in by_id]
    assert ids == sorted(ids, key=str.lower)
    assert all(list(row) == ["id"] for row in by_id)


@pytest.mark.parametrize("mode", ERAS)
async def test_structured_arguments_sent_as_json_text_are_decoded(
    sim: SimProcess, tmp_path: Path, mode: Era
) -> None:
    # Some clients (Claude Desktop among them) send every list or object argument as a JSON string.
    async with mcp_session(sim, tmp_path, mode) as client:
        as_text = await _call(client, "list_models", {"query": "GLM 4.7", "fields": '["tee"]'})
        not_json = await client.call_tool("list_models", {"fields": "tee, engine"})
        decoded_but_wrong = await client.call_tool("list_models", {"fields": '["tee", "colour"]'})
        a_query_that_is_json = await _call(client, "list_models", {"query": '["GLM"]'})
    assert as_text["fields"] == ["id", "tee"]
    assert all(list(row) == ["id", "tee"] for row in as_text["models"])
    problem = error_of(not_json)
    assert problem["code"] == "invalid_arguments"
    assert problem["message"].startswith("fields:")
    # Once decoded, the list itself is checked, item by item.
    assert error_of(decoded_but_wrong)["message"].startswith("fields.1:")
    # A string argument stays the text it was, even when that text is JSON (a list would be refused).
    assert a_query_that_is_json["total"] > 0
    assert all("glm" in row["id"].lower() for row in a_query_that_is_json["models"])


@pytest.mark.parametrize("mode", ERAS)
async def test_list_models_pages_through_every_model_with_cursors(
    sim: SimProcess, tmp_path: Path, mode: Era
) -> None:
    arguments = {"sort": "id", "fields": ["tee"]}
    async with mcp_session(sim, tmp_path, mode) as client:
        full = await _all_rows(client, arguments)
        pages = [await client.call_tool("list_models", {**arguments, "limit": 7})]
        while (cursor := (pages[-1].structured_content or {})["next_cursor"]) is not None:
            pages.append(await client.call_tool("list_models", {**arguments, "limit": 7, "cursor": cursor}))
        second_cursor = (pages[0].structured_content or {})["next_cursor"]
        garbage = await client.call_tool("list_models", {"cursor": "not-a-cursor"})
        other_query = await client.call_tool("list_models", {"sort": "price", "cursor": second_cursor})
        bad_limit = await client.call_tool("list_models", {"limit": 0})
        bad_sort = await client.call_tool("list_models", {"sort": "vibes"})
    listed = [row for page in pages for row in (page.structured_content or {})["models"]]
    assert listed == full
    assert len(pages) == -(-len(full) // 7)
    assert [(page.structured_content or {})["offset"] for page in pages] == list(range(0, len(full), 7))
    assert "More: call again with cursor" in text_of(pages[0])
    assert "More:" not in text_of(pages[-1])
    assert error_of(garbage)["code"] == "invalid_cursor"
    mismatch = error_of(other_query)
    assert mismatch["code"] == "invalid_cursor"
    assert "another listing" in mismatch["message"]
    assert error_of(bad_limit)["code"] == "invalid_arguments"
    assert error_of(bad_sort)["code"] == "invalid_arguments"


@pytest.mark.parametrize("mode", ERAS)
async def test_get_model_by_every_name_form(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    names = [
        "zai-org/GLM-4.7-TEE",
        "chutes-default",
        "glm-4.7",
        "ZAI-ORG/glm-4.7-tee",
        "chutes/zai-org/GLM-4.7",
    ]
    async with mcp_session(sim, tmp_path, mode) as client:
        results = [await client.call_tool("get_model", {"model": name}) for name in names]
        twin = await _call(
            client, "get_model", {"model": "Qwen/Qwen3-235B-A22B-Instruct-2507", "tee_only": True}
        )
    for name, result in zip(names, results, strict=True):
        details = result.structured_content
        assert details is not None, text_of(result)
        assert details["model"]["id"] == "zai-org/GLM-4.7-TEE"
        assert details["model"]["tee"] is True
        assert details["model"]["context_length"] > 100_000
        assert details["model"]["prices"]["prompt"] is not None
        assert "chutes-default" in details["aliases"]
        assert details["requested"] == name
        assert details["source"] in ("live", "cache")
    assert "Aliases: chutes-default" in text_of(results[0])
    assert "alias:chutes-default" in results[1].structured_content["via"]  # type: ignore[index]
    assert twin["model"]["id"] == "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE"
    assert "tee_twin" in twin["via"]


@pytest.mark.parametrize("mode", ERAS)
async def test_get_model_errors(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        missing = await client.call_tool("get_model", {"model": "glm-4.77x"})
        not_tee = await client.call_tool("get_model", {"model": "Qwen/Qwen3-32B", "tee_only": True})
        several = await client.call_tool("get_model", {"model": "glm-4.7,Qwen/Qwen3-32B"})
        empty = await client.call_tool("get_model", {"model": ""})
    not_found = error_of(missing)
    assert not_found["code"] == "model_not_found"
    nearest = not_found["message"].split("nearest: ", 1)[1].split(", ")
    assert len(nearest) == 3
    assert "zai-org/GLM-4.7-TEE" in nearest
    assert all(model_id in not_found["hint"] for model_id in nearest)
    assert error_of(not_tee)["code"] == "tee_required"
    assert error_of(several)["code"] == "bad_request"
    assert error_of(empty)["code"] == "invalid_arguments"


@pytest.mark.parametrize("mode", ERAS)
async def test_pick_model_presets(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        private = await client.call_tool("pick_model", {"task": "private", "k": 3})
        coding = await _call(client, "pick_model", {"task": "coding", "tee_only": True, "k": 5})
        latency = await _call(client, "pick_model", {"task": "cheap", "selector": "latency", "k": 2})
        impossible = await client.call_tool("pick_model", {"min_context": 100_000_000})
        bad_task = await client.call_tool("pick_model", {"task": "poetry"})
        bad_k = await client.call_tool("pick_model", {"k": 11})
    chosen = private.structured_content
    assert chosen is not None
    assert len(chosen["picks"]) == 3
    assert all(pick["tee"] is True and pick["reasons"] for pick in chosen["picks"])
    assert chosen["routing"] == ",".join(pick["id"] for pick in chosen["picks"])
    assert chosen["routing"] in text_of(private)
    assert coding["constraints"]["tee_only"] is True
    assert "tools" in coding["constraints"]["features"]
    assert all(pick["tee"] is True and "tools" in pick["features"] for pick in coding["picks"])
    assert latency["routing"].endswith(":latency")
    assert len(latency["picks"]) == 2
    nothing = impossible.structured_content
    assert nothing is not None
    assert nothing["picks"] == []
    assert nothing["routing"] is None
    assert nothing["rejected"]["context_too_small"] > 0
    assert "No model meets" in text_of(impossible)
    assert error_of(bad_task)["code"] == "invalid_arguments"
    assert error_of(bad_k)["code"] == "invalid_arguments"


@pytest.mark.parametrize("mode", ERAS)
async def test_tee_only_server_lists_and_picks_tee_models_only(
    sim: SimProcess, tmp_path: Path, mode: Era
) -> None:
    async with mcp_session(sim, tmp_path, mode, CHUTES_TEE_ONLY="true") as client:
        rows = await _all_rows(client, {"tee_only": False})
        picked = await _call(client, "pick_model", {"task": "general", "k": 5})
        plain = await client.call_tool("get_model", {"model": "Qwen/Qwen3-32B"})
    assert rows
    assert all(row["tee"] is True for row in rows)
    assert all(pick["tee"] is True for pick in picked["picks"])
    assert error_of(plain)["code"] == "tee_required"


@pytest.mark.parametrize("mode", ERAS)
async def test_an_allow_list_limits_what_is_listed_and_picked(
    sim: SimProcess, tmp_path: Path, mode: Era
) -> None:
    allowed = "chutes-pro,Qwen/Qwen3-32B,zai-org/glm-4.7-tee"
    async with mcp_session(sim, tmp_path, mode, CHUTES_ALLOWED_MODELS=allowed) as client:
        rows = await _all_rows(client, {})
        picked = await _call(client, "pick_model", {"task": "general", "k": 5})
    listed = {row["id"] for row in rows}
    assert listed == {"deepseek-ai/DeepSeek-V3.2-TEE", "Qwen/Qwen3-32B", "zai-org/GLM-4.7-TEE"}
    assert {pick["id"] for pick in picked["picks"]} <= listed
