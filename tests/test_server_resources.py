"""Resources, the model template and its completion, and prompts, through a real `chutes-mcp serve`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INVALID_PARAMS,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    TextResourceContents,
)
from mcp_support import ERAS, mcp_session
from sim_process import SimProcess

from chutes_mcp import __version__

pytestmark = pytest.mark.anyio

Era = Literal["auto", "legacy"]
TEMPLATE = "chutes://models/{+model_id}"
STATIC = {
    "chutes://models",
    "chutes://models/tee",
    "chutes://embedding-models",
    "chutes://aliases",
    "chutes://status",
}


async def _read(client: Client, uri: str) -> Any:
    result = await client.read_resource(uri)
    content = result.contents[0]
    assert isinstance(content, TextResourceContents)
    assert content.mime_type == "application/json"
    return json.loads(content.text)


async def _prompt(client: Client, name: str, arguments: dict[str, str]) -> str:
    result = await client.get_prompt(name, arguments)
    assert len(result.messages) == 1
    assert result.messages[0].role == "user"
    content = result.messages[0].content
    assert isinstance(content, TextContent)
    return content.text


async def _complete(
    client: Client, ref: PromptReference | ResourceTemplateReference, name: str, value: str
) -> Any:
    return (await client.complete(ref, {"name": name, "value": value})).completion


@pytest.mark.parametrize("mode", ERAS)
async def test_static_resources(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    aliases = json.dumps({"mine": "Qwen/Qwen3-32B", "broken": "no-such/model"})
    async with mcp_session(sim, tmp_path, mode, CHUTES_ALIASES=aliases) as client:
        listed = await client.list_resources()
        models = await _read(client, "chutes://models")
        tee = await _read(client, "chutes://models/tee")
        alias_table = await _read(client, "chutes://aliases")
        status = await _read(client, "chutes://status")
        page = await client.call_tool("list_models", {"limit": 1})
    assert {str(resource.uri) for resource in listed.resources} == STATIC
    assert all(resource.mime_type == "application/json" for resource in listed.resources)
    assert models["count"] == len(models["models"]) == (page.structured_content or {})["total"]
    assert models["fields"] == ["id", "tee", "context_length", "input_price", "output_price", "features"]
    assert all(list(row) == models["fields"] for row in models["models"])
    assert 0 < tee["count"] < models["count"]
    assert all(row["tee"] is True for row in tee["models"])
    by_name = {entry["name"]: entry for entry in alias_table["aliases"]}
    assert by_name["chutes-default"]["resolves_to"] == ["zai-org/GLM-4.7-TEE"]
    assert by_name["mine"]["resolves_to"] == ["Qwen/Qwen3-32B"]
    assert by_name["broken"]["resolves_to"] == []
    assert "not found" in by_name["broken"]["note"]
    assert status["version"] == __version__
    assert status["tee_only"] is False
    assert status["catalog"]["source"] in ("live", "cache")
    assert status["catalog"]["models"] == models["count"]
    assert status["catalog"]["age_s"] >= 0
    assert status["catalog"]["last_error"] is None
    assert status["limiter"]["rate_per_minute"] == 60
    assert status["limiter"]["acquired"] >= 1
    assert isinstance(status["breakers"], list)


@pytest.mark.parametrize("mode", ERAS)
async def test_model_template(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        templates = await client.list_resource_templates()
        by_id = await _read(client, "chutes://models/zai-org/GLM-4.7-TEE")
        encoded = await _read(client, "chutes://models/zai-org%2FGLM-4.7-TEE")
        by_alias = await _read(client, "chutes://models/chutes-default")
        with pytest.raises(MCPError) as missing:
            await client.read_resource("chutes://models/zai-org/GLM-4.77x")
        with pytest.raises(MCPError) as traversal:
            await client.read_resource("chutes://models/../status")
    assert [template.uri_template for template in templates.resource_templates] == [TEMPLATE]
    for details in (by_id, encoded, by_alias):
        assert details["model"]["id"] == "zai-org/GLM-4.7-TEE"
        assert "chutes-default" in details["aliases"]
    assert by_id["model"]["prices"]["prompt"] is not None
    assert missing.value.error.code == INVALID_PARAMS
    assert "model_not_found" in missing.value.error.message
    assert "nearest" in missing.value.error.message
    assert traversal.value.error.code == INVALID_PARAMS


@pytest.mark.parametrize("mode", ERAS)
async def test_completions(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    template = ResourceTemplateReference(type="ref/resource", uri=TEMPLATE)
    async with mcp_session(sim, tmp_path, mode) as client:
        by_org = await _complete(client, template, "model_id", "zai-org/GLM")
        by_short = await _complete(client, template, "model_id", "glm-4.7")
        everything = await _complete(client, template, "model_id", "")
        task = await _complete(client, PromptReference(type="ref/prompt", name="choose_model"), "task", "co")
        private = await _complete(
            client, PromptReference(type="ref/prompt", name="private_chat"), "model", ""
        )
        first = await _complete(
            client, PromptReference(type="ref/prompt", name="second_opinion"), "first_model", "deepseek"
        )
        other = await _complete(client, PromptReference(type="ref/prompt", name="choose_model"), "needs", "x")
        tee_rows = (
            await client.call_tool("list_models", {"tee_only": True, "limit": 100})
        ).structured_content
    assert by_org.values
    assert all(value.startswith("zai-org/GLM") for value in by_org.values)
    assert by_short.values[:2] == ["zai-org/GLM-4.7-TEE", "zai-org/GLM-4.7-FP8"]
    assert everything.total == len(everything.values) > 40
    assert everything.has_more is False
    assert task.values == ["coding"]
    assert tee_rows is not None
    assert private.values == [row["id"] for row in tee_rows["models"]]
    assert first.values
    assert all("deepseek" in value.lower() for value in first.values)
    assert other.values == []


@pytest.mark.parametrize("mode", ERAS)
async def test_prompts(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        listed = await client.list_prompts()
        private = await _prompt(client, "private_chat", {"request": "my medical history"})
        private_named = await _prompt(client, "private_chat", {"request": "x", "model": "glm-4.7"})
        second = await _prompt(
            client,
            "second_opinion",
            {
                "question": "Is 91 prime?",
                "first_answer": "Yes.",
                "first_model": "deepseek-ai/DeepSeek-V3.2-TEE",
            },
        )
        choose = await _prompt(
            client, "choose_model", {"task": "coding", "needs": "a Rust refactoring agent"}
        )
        with pytest.raises(MCPError) as bad_task:
            await client.get_prompt("choose_model", {"task": "poetry"})
        with pytest.raises(MCPError) as not_tee:
            await client.get_prompt("private_chat", {"request": "x", "model": "Qwen/Qwen3-32B"})
    arguments = {
        prompt.name: [(a.name, a.required) for a in prompt.arguments or []] for prompt in listed.prompts
    }
    assert arguments == {
        "private_chat": [("request", True), ("model", False)],
        "second_opinion": [("question", True), ("first_answer", False), ("first_model", False)],
        "choose_model": [("task", False), ("needs", False)],
    }
    assert "`tee_only: true`" in private
    assert "my medical history" in private
    assert "-TEE" in private
    assert 'model: "zai-org/GLM-4.7-TEE"' in private_named
    assert "Is 91 prime?" in second
    assert "First answer (deepseek-ai/DeepSeek-V3.2-TEE)" in second
    other = second.split("Get a second opinion from ", 1)[1].split(",", 1)[0]
    assert "deepseek" not in other.lower()
    assert "a Rust refactoring agent" in choose
    assert "1. " in choose
    assert "pick_model" in choose
    assert bad_task.value.error.code == INVALID_PARAMS
    assert "coding" in bad_task.value.error.message
    assert not_tee.value.error.code == INVALID_PARAMS
    assert "tee_required" in not_tee.value.error.message


@pytest.mark.parametrize("mode", ERAS)
async def test_wrong_prompt_requests_are_the_callers_to_fix(
    sim: SimProcess, tmp_path: Path, mode: Era
) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        refused = {}
        for name, arguments in [
            ("write_poem", {}),
            ("private_chat", {}),
            ("choose_model", {"taks": "coding"}),
        ]:
            with pytest.raises(MCPError) as caught:
                await client.get_prompt(name, arguments)
            refused[name] = caught.value.error
    assert {error.code for error in refused.values()} == {INVALID_PARAMS}
    assert (
        "Unknown prompt: write_poem; the prompts are private_chat, second_opinion"
        in refused["write_poem"].message
    )
    assert refused["private_chat"].message == (
        "private_chat: missing required argument(s) request. Accepted arguments: request, model."
    )
    assert (
        refused["choose_model"].message
        == "choose_model: no argument(s) taks. Accepted arguments: task, needs."
    )


@pytest.mark.parametrize("mode", ERAS)
async def test_tee_only_server_resources(sim: SimProcess, tmp_path: Path, mode: Era) -> None:
    async with mcp_session(sim, tmp_path, mode, CHUTES_TEE_ONLY="true") as client:
        models = await _read(client, "chutes://models")
        status = await _read(client, "chutes://status")
        second = await _prompt(client, "second_opinion", {"question": "q"})
    assert models["models"]
    assert all(row["tee"] is True for row in models["models"])
    assert status["tee_only"] is True
    assert "-TEE" in second.split("Get a second opinion from ", 1)[1].split(",", 1)[0]
