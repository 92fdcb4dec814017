"""pick_model on the bundled 2026-02-18 snapshot: presets, constraints, scores and determinism."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.models import ModelInfo
from chutes_mcp.chutes.catalog.picker import PRESETS, PickRequest, pick_models, routing_string
from chutes_mcp.chutes.catalog.presets import PRESET_NAMES, Preset
from chutes_mcp.chutes.catalog.service import CatalogSnapshot, CatalogView, bundled_snapshot

VIEW = CatalogView(snapshot=bundled_snapshot(), source="bundled", stale=True, last_error=None)
BY_ID = {model.id: model for model in VIEW.models}


def test_every_preset_name_has_a_meaning_and_no_other_does() -> None:
    # The server lists and completes the names before it loads the picker.
    assert tuple(PRESETS) == PRESET_NAMES


@pytest.mark.parametrize(
    ("task", "tee_only", "best", "requirement"),
    [
        ("general", False, "openai/gpt-oss-120b-TEE", lambda m: m.accepts("text")),
        ("coding", False, "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8-TEE", lambda m: m.has_feature("tools")),
        ("reasoning", False, "tngtech/DeepSeek-TNG-R1T2-Chimera", lambda m: m.has_feature("reasoning")),
        ("vision", False, "chutesai/Mistral-Small-3.1-24B-Instruct-2503", lambda m: m.accepts("image")),
        (
            "long_context",
            False,
            "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE",
            lambda m: m.context_length >= 128_000,
        ),
        ("tool_use", False, "chutesai/Mistral-Small-3.1-24B-Instruct-2503", lambda m: m.has_feature("tools")),
        (
            "json",
            False,
            "chutesai/Mistral-Small-3.1-24B-Instruct-2503",
            lambda m: m.has_feature("structured_outputs"),
        ),
        ("cheap", False, "unsloth/gemma-3-4b-it", lambda m: m.prices.prompt <= 0.05),
        ("private", False, "openai/gpt-oss-120b-TEE", lambda m: m.tee is True),
        ("general", True, "openai/gpt-oss-120b-TEE", lambda m: m.tee is True),
        ("coding", True, "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8-TEE", lambda m: m.has_feature("tools")),
        ("reasoning", True, "openai/gpt-oss-120b-TEE", lambda m: m.has_feature("reasoning")),
        ("vision", True, "moonshotai/Kimi-K2.5-TEE", lambda m: m.accepts("image")),
        (
            "long_context",
            True,
            "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE",
            lambda m: m.context_length >= 128_000,
        ),
        ("tool_use", True, "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE", lambda m: m.has_feature("tools")),
        ("json", True, "openai/gpt-oss-120b-TEE", lambda m: m.has_feature("structured_outputs")),
        ("cheap", True, "openai/gpt-oss-120b-TEE", lambda m: m.tee is True),
        ("private", True, "openai/gpt-oss-120b-TEE", lambda m: m.tee is True),
    ],
)
def test_presets(task: Preset, tee_only: bool, best: str, requirement: object) -> None:
    result = pick_models(VIEW, PickRequest(task=task, constraints=ModelFilter(tee_only=tee_only)))
    assert result.picks[0].id == best
    assert len(result.picks) == 3
    assert [pick.rank for pick in result.picks] == [1, 2, 3]
    assert result.routing == ",".join(pick.id for pick in result.picks)
    picked = [BY_ID[pick.id] for pick in result.picks]
    assert all(requirement(model) for model in picked)  # type: ignore[operator]
    assert all(model.tee for model in picked) or not (tee_only or task == "private")
    assert result.eligible + sum(result.rejected.values()) == result.considered == 61
    assert (result.source, result.task, result.summary) == ("bundled", task, PRESETS[task].summary)


@pytest.mark.parametrize("task", list(PRESETS))
def test_scores_are_explained_term_by_term(task: Preset) -> None:
    assert math.isclose(sum(PRESETS[task].weights.values()), 1.0)
    result = pick_models(VIEW, PickRequest(task=task, k=5))
    scores = [pick.score for pick in result.picks]
    assert scores == sorted(scores, reverse=True)
    for pick in result.picks:
        assert math.isclose(sum(term.contribution for term in pick.terms), pick.score, abs_tol=1e-3)
        assert all(0.0 <= term.value <= 1.0 for term in pick.terms)
        assert len(pick.reasons) == sum(1 for term in pick.terms if term.contribution > 0) + bool(pick.tee)
        assert all(reason for reason in pick.reasons)


@pytest.mark.parametrize("task", list(PRESETS))
def test_equal_inputs_give_equal_answers(task: Preset) -> None:
    request = PickRequest(task=task, constraints=ModelFilter(features=("json_mode",)), k=10)
    assert pick_models(VIEW, request) == pick_models(VIEW, request)


def fresh_copy() -> CatalogView:
    """The same models in a copy of the catalog that no pick has seen yet."""
    snapshot = CatalogSnapshot(models=VIEW.models, origin="bundled", fetched_at=VIEW.fetched_at)
    return CatalogView(snapshot, "bundled", True, None)


@pytest.mark.parametrize("task", list(PRESETS))
def test_a_copy_answers_later_picks_as_it_answered_the_first(task: Preset) -> None:
    # Rankings are kept per catalog copy: a copy used before must answer as a new one does.
    used = fresh_copy()
    for k in (1, 10, 3):
        pick_models(used, PickRequest(task=task, k=k))
    request = PickRequest(task=task, constraints=ModelFilter(tee_only=True), k=5)
    pick_models(used, request)
    assert pick_models(used, request) == pick_models(fresh_copy(), request)


def test_a_smaller_k_is_the_head_of_the_same_ranking() -> None:
    view = fresh_copy()
    two = pick_models(view, PickRequest(task="coding", k=2))
    ten = pick_models(view, PickRequest(task="coding", k=10))
    assert [pick.id for pick in two.picks] == [pick.id for pick in ten.picks[:2]]
    assert len(ten.picks) == 10


def test_changing_an_answer_does_not_change_the_next() -> None:
    view = fresh_copy()
    request = PickRequest(task="private", constraints=ModelFilter(features=("tools",)), k=3)
    first = pick_models(view, request)
    expected = first.model_copy(deep=True)
    first.rejected["not_tee"] = 0
    first.picks.clear()
    assert pick_models(view, request) == expected


@pytest.mark.parametrize(
    ("constraints", "holds"),
    [
        (ModelFilter(max_input_price=0.1), lambda m: m.prices.prompt <= 0.1),
        (ModelFilter(max_output_price=0.5), lambda m: m.prices.completion <= 0.5),
        (ModelFilter(min_context=200_000), lambda m: m.context_length >= 200_000),
        (
            ModelFilter(features=("tools", "reasoning")),
            lambda m: m.has_feature("tools") and m.has_feature("reasoning"),
        ),
        (ModelFilter(features=("structured_output",)), lambda m: m.has_feature("structured_outputs")),
        (ModelFilter(input_modality="video"), lambda m: m.accepts("video")),
        (
            ModelFilter(exclude=("OPENAI/GPT-OSS-120B-TEE", "chutes/qwen/qwen3-32b")),
            lambda m: m.id not in {"openai/gpt-oss-120b-TEE", "Qwen/Qwen3-32B"},
        ),
    ],
)
def test_constraints_are_hard(constraints: ModelFilter, holds: object) -> None:
    result = pick_models(VIEW, PickRequest(task="general", constraints=constraints, k=10))
    assert result.picks
    assert all(holds(BY_ID[pick.id]) for pick in result.picks)  # type: ignore[operator]


def test_no_match_gives_empty_picks_and_the_reasons() -> None:
    result = pick_models(
        VIEW, PickRequest(task="vision", constraints=ModelFilter(tee_only=True, max_input_price=0.01))
    )
    assert (result.picks, result.routing, result.eligible) == ([], None, 0)
    assert result.rejected["not_tee"] == 40
    assert result.constraints.input_modality == "image"


def test_entries_without_published_capabilities_are_never_picked() -> None:
    result = pick_models(VIEW, PickRequest(task="cheap", k=10))
    assert result.rejected["no_text_input"] == 6
    assert all(pick.features is not None for pick in result.picks)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("failover", "a,b"), ("latency", "a,b:latency"), ("throughput", "a,b:throughput")],
)
def test_routing_string(selector: str, expected: str) -> None:
    assert routing_string(["a", "b"], selector) == expected  # type: ignore[arg-type]


def test_selector_reaches_the_result() -> None:
    result = pick_models(VIEW, PickRequest(task="private", k=2, selector="latency"))
    assert result.routing == f"{result.picks[0].id},{result.picks[1].id}:latency"


def test_unknown_prices_rank_last_on_price() -> None:
    models = (
        ModelInfo(
            id="a/Priced",
            tee=True,
            input_modalities=("text",),
            features=(),
            context_length=8192,
            prices={"prompt": 1.0, "completion": 1.0},
        ),
        ModelInfo(id="b/Unpriced", tee=True, input_modalities=("text",), features=(), context_length=8192),
    )
    snapshot = CatalogSnapshot(models=models, origin="live", fetched_at=VIEW.fetched_at)
    result = pick_models(CatalogView(snapshot, "live", False, None), PickRequest(task="cheap", k=2))
    assert [pick.id for pick in result.picks] == ["a/Priced", "b/Unpriced"]
    price = {term.name: term for term in result.picks[1].terms}["price"]
    assert (price.value, price.contribution) == (0.0, 0.0)


@pytest.mark.parametrize(
    "bad",
    [
        {"task": "poetry"},
        {"k": 0},
        {"k": 11},
        {"constraints": {"features": ["vision"]}},
        {"constraints": {"min_context": 0}},
        {"constraints": {"max_input_price": -1}},
    ],
)
def test_bad_requests_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PickRequest.model_validate(bad)
