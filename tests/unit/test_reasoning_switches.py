"""Which reasoning controls each model family gets, and the notes when a model cannot do what was asked."""

from __future__ import annotations

from typing import Any

import pytest

from chutes_mcp.chutes.chat.reasoning_switches import (
    FAMILIES,
    UNKNOWN,
    can_think_less,
    family_of,
    reasoning_controls,
)
from chutes_mcp.chutes.chat.request import ChatRequest, build_chat_body
from chutes_mcp.chutes.errors import BadRequestError

R1 = "deepseek-ai/DeepSeek-R1-TEE"
GPT_OSS = "openai/gpt-oss-120b-TEE"


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("Qwen/Qwen3-32B", "qwen"),
        ("Qwen/Qwen3.5-397B-A17B-TEE", "qwen"),
        ("google/gemma-4-31B-turbo-TEE", "gemma"),
        ("zai-org/GLM-4.7-TEE", "glm"),
        ("zai-org/GLM-5-TEE", "glm"),
        ("moonshotai/Kimi-K2.5-TEE", "kimi"),
        ("moonshotai/Kimi-K3-TEE", "kimi-k3"),
        ("deepseek-ai/DeepSeek-V3.2-TEE", "deepseek"),
        ("deepseek-ai/DeepSeek-V4-Flash-0731-TEE", "deepseek"),
        (R1, "deepseek-r1"),
        ("deepseek-ai/DeepSeek-R1-0528-TEE", "deepseek-r1"),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "deepseek-r1"),
        ("tngtech/DeepSeek-TNG-R1T2-Chimera", "deepseek-r1"),
        ("tngtech/R1T2-Chimera-Speed", "deepseek-r1"),
        ("Qwen/Qwen3-235B-A22B-Thinking-2507", "thinking-only"),
        ("moonshotai/Kimi-K2-Thinking-TEE", "thinking-only"),
        ("miromind-ai/MiroThinker-v1.5-235B", "thinking-only"),
        (GPT_OSS, "gpt-oss"),
        ("NousResearch/Hermes-4-70B", "unknown"),
        ("MiniMaxAI/MiniMax-M2.5-TEE", "unknown"),
        # A routing string: the family its members share, else none in particular.
        ("zai-org/GLM-4.7-TEE,zai-org/GLM-5-TEE:latency", "glm"),
        ("zai-org/GLM-4.7-TEE,Qwen/Qwen3-32B", "unknown"),
    ],
)
def test_family_from_the_model_id(model: str, family: str) -> None:
    assert family_of(model).name == family


ON, OFF = {"thinking": True}, {"thinking": False}


@pytest.mark.parametrize(
    ("model", "ask", "reasons", "template_kwargs", "fields", "note"),
    [
        # Each family's switch, both ways.
        ("Qwen/Qwen3-32B", ON, True, {"enable_thinking": True}, {}, None),
        ("Qwen/Qwen3-32B", OFF, True, {"enable_thinking": False}, {}, None),
        ("google/gemma-4-31B-turbo-TEE", OFF, None, {"enable_thinking": False}, {}, None),
        ("zai-org/GLM-4.7-TEE", OFF, True, {"thinking": False}, {}, None),
        ("moonshotai/Kimi-K2.5-TEE", OFF, True, {"thinking": False}, {}, None),
        ("deepseek-ai/DeepSeek-V3.2-TEE", ON, True, {"thinking": True}, {}, None),
        ("deepseek-ai/DeepSeek-V3.2-TEE", {"reasoning_effort": "none"}, True, {"thinking": False}, {}, None),
        # An unknown family gets both keys, and an effort level the engines take.
        ("NousResearch/Hermes-4-70B", ON, True, {"enable_thinking": True, "thinking": True}, {}, None),
        (
            "NousResearch/Hermes-4-70B",
            {"reasoning_effort": "medium"},
            None,
            {"enable_thinking": True, "thinking": True},
            {"reasoning_effort": "medium"},
            None,
        ),
        (
            "NousResearch/Hermes-4-70B",
            {"reasoning_effort": "max"},
            None,
            {"enable_thinking": True, "thinking": True},
            {"reasoning_effort": "high"},
            "has no effort level max: sent high",
        ),
        # Effort where a family takes one.
        (GPT_OSS, {"reasoning_effort": "medium"}, True, {}, {"reasoning_effort": "medium"}, None),
        (GPT_OSS, {"reasoning_effort": "max"}, True, {}, {"reasoning_effort": "high"}, "sent high"),
        (GPT_OSS, ON, True, {}, {}, None),
        (
            "moonshotai/Kimi-K3-TEE",
            {"reasoning_effort": "max"},
            True,
            {"thinking": True, "reasoning_effort": "max"},
            {},
            None,
        ),
        (
            "moonshotai/Kimi-K3-TEE",
            {"reasoning_effort": "medium"},
            True,
            {"thinking": True, "reasoning_effort": "high"},
            {},
            "has no effort level medium: sent high",
        ),
        ("moonshotai/Kimi-K3-TEE", OFF, True, {"thinking": False}, {}, None),
        (
            "zai-org/GLM-4.7-TEE",
            {"reasoning_effort": "high"},
            True,
            {"thinking": True},
            {},
            "takes no effort level, only thinking on or off: reasoning_effort=high was sent as thinking on",
        ),
        # A model that always reasons: nothing pretends thinking was off.
        (R1, OFF, True, {}, {}, "always reasons: thinking=false cannot turn its thinking off"),
        (R1, {"reasoning_effort": "minimal"}, True, {}, {}, "reasoning_effort=minimal cannot turn"),
        (R1, ON, True, {}, {}, None),
        (R1, {"reasoning_effort": "high"}, True, {}, {}, "takes no effort level: reasoning_effort=high"),
        (
            GPT_OSS,
            OFF,
            True,
            {},
            {"reasoning_effort": "low"},
            "always reasons: thinking=false cannot turn its thinking off; it was asked for its lowest effort, low",
        ),
        # A model that does not reason: no switch it would ignore, and a note when thinking was asked for.
        ("Qwen/Qwen2.5-72B-Instruct", ON, False, {}, {}, "does not reason"),
        ("Qwen/Qwen2.5-72B-Instruct", {"reasoning_effort": "low"}, False, {}, {}, "does not reason"),
        ("Qwen/Qwen2.5-72B-Instruct", OFF, False, {}, {}, None),
        ("unsloth/Mistral-Nemo-Instruct-2407", ON, False, {}, {}, "does not reason"),
        # Nothing asked: the model's own default, whatever it is.
        (R1, {}, True, {}, {}, None),
        ("Qwen/Qwen3-32B", {}, True, {}, {}, None),
    ],
)
def test_controls_per_family(
    model: str,
    ask: dict[str, Any],
    reasons: bool | None,
    template_kwargs: dict[str, Any],
    fields: dict[str, Any],
    note: str | None,
) -> None:
    controls = reasoning_controls(model, ask.get("thinking"), ask.get("reasoning_effort"), reasons=reasons)
    assert controls.template_kwargs == template_kwargs
    assert controls.fields == fields
    if note is None:
        assert controls.notes == ()
    else:
        assert len(controls.notes) == 1
        assert controls.notes[0].startswith(model)
        assert note in controls.notes[0]


def test_every_family_has_a_switch_or_an_effort_or_always_reasons() -> None:
    for family in (*FAMILIES, UNKNOWN):
        assert family.switches or family.efforts or family.always_reasons, family.name
        assert not family.efforts or set(family.efforts) == {"low", "medium", "high", "max"}, family.name


@pytest.mark.parametrize(
    ("model", "less"),
    [(R1, False), ("Qwen/Qwen3-235B-A22B-Thinking-2507", False), (GPT_OSS, True), ("x/y", True)],
)
def test_can_think_less(model: str, less: bool) -> None:
    assert can_think_less(model) is less


@pytest.mark.parametrize(
    "ask", [{"thinking": False, "reasoning_effort": "high"}, {"reasoning_effort": "extreme"}]
)
def test_bad_asks_are_bad_requests(ask: dict[str, Any]) -> None:
    with pytest.raises(BadRequestError):
        reasoning_controls("Qwen/Qwen3-32B", ask.get("thinking"), ask.get("reasoning_effort"))


def test_the_body_follows_the_catalog_for_the_model_it_goes_to() -> None:
    messages = [{"role": "user", "content": "hi"}]
    catalog = {"Qwen/Qwen2.5-72B-Instruct": False, "Qwen/Qwen3-32B": True}
    plain = ChatRequest(
        model="Qwen/Qwen2.5-72B-Instruct", messages=messages, thinking=True, catalog_reasoning=catalog
    )
    assert "chat_template_kwargs" not in build_chat_body(plain, stream=False)
    thinker = ChatRequest(model="Qwen/Qwen3-32B", messages=messages, thinking=True, catalog_reasoning=catalog)
    assert build_chat_body(thinker, stream=False)["chat_template_kwargs"] == {"enable_thinking": True}
