"""Chat planning and the cost guard: candidates, allow-list, TEE, images, `auto`, worst-case cost."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import replace

import pytest

from chutes_mcp.chutes.catalog.aliases import ModelResolver
from chutes_mcp.chutes.catalog.models import ModelInfo, Prices
from chutes_mcp.chutes.catalog.service import CatalogView, bundled_snapshot
from chutes_mcp.chutes.chat.budget import enforce_cost_limit, estimate_prompt_tokens, worst_case
from chutes_mcp.chutes.chat.plan import AUTO_FALLBACKS, ChatNeeds, ChatPlanner
from chutes_mcp.chutes.errors import (
    BadRequestError,
    ChutesError,
    CostLimitError,
    ModelNotAllowedError,
    ModelNotFoundError,
    TeeRequiredError,
)

VIEW = CatalogView(snapshot=bundled_snapshot(), source="bundled", stale=False, last_error=None)
GLM = "zai-org/GLM-4.7-TEE"
NEMO = "unsloth/Mistral-Nemo-Instruct-2407"
V3 = "deepseek-ai/DeepSeek-V3-0324-TEE"
VISION = "chutesai/Mistral-Small-3.2-24B-Instruct-2506"
TEXT_ONLY = ChatNeeds()


def planner(*allowed: str) -> ChatPlanner:
    return ChatPlanner(ModelResolver(), default_model="chutes-default", allowed_models=allowed)


@pytest.mark.parametrize(
    ("model", "fallbacks", "needs", "expected"),
    [
        (None, None, TEXT_ONLY, [GLM]),
        ("chutes-vision", None, ChatNeeds(images=True), [VISION]),
        (f"{V3},{GLM}", None, TEXT_ONLY, [V3, GLM]),
        (f"{V3},{GLM}:latency", None, TEXT_ONLY, [f"{V3},{GLM}:latency"]),
        (V3, [GLM, V3.lower()], TEXT_ONLY, [V3, GLM]),  # repeats dropped
        (GLM, ["chutes-default"], TEXT_ONLY, [GLM]),
    ],
)
def test_candidates(
    model: str | None, fallbacks: list[str] | None, needs: ChatNeeds, expected: list[str]
) -> None:
    plan = planner().plan(VIEW, model, fallbacks, needs)
    assert [candidate.model for candidate in plan.candidates] == expected


def test_thinking_suffix_is_carried() -> None:
    plan = planner().plan(VIEW, f"{GLM}:THINKING", None, TEXT_ONLY)
    assert plan.thinking
    assert [c.model for c in plan.candidates] == [GLM]


@pytest.mark.parametrize(
    ("needs", "check"),
    [
        (ChatNeeds(tee_only=True), lambda info: info.tee is True),
        (ChatNeeds(images=True), lambda info: info.accepts("image")),
        (ChatNeeds(tools=True, json_schema=True), lambda info: info.has_feature("tools")),
    ],
)
def test_auto_fallbacks_meet_the_needs(needs: ChatNeeds, check: Callable[[ModelInfo], bool]) -> None:
    first = VISION if needs.images else V3
    plan = planner().plan(VIEW, first, "auto", needs)
    auto = [c for c in plan.candidates if c.source == "auto"]
    assert len(auto) == AUTO_FALLBACKS
    assert all(c.info is not None and check(c.info) for c in auto)
    assert first not in [c.model for c in auto]


def test_auto_fallbacks_stay_in_the_allow_list() -> None:
    plan = planner(V3, "chutes-default").plan(VIEW, V3, "auto", TEXT_ONLY)
    assert [c.model for c in plan.candidates] == [V3, GLM]


@pytest.mark.parametrize(
    ("allowed", "model", "fallbacks", "needs", "error"),
    [
        ((V3,), NEMO, None, TEXT_ONLY, ModelNotAllowedError),
        ((V3,), None, None, TEXT_ONLY, ModelNotAllowedError),  # the default is not exempt
        ((V3,), V3, [NEMO], TEXT_ONLY, ModelNotAllowedError),
        ((), NEMO, None, ChatNeeds(tee_only=True), TeeRequiredError),
        ((), "no/such-model", None, TEXT_ONLY, ModelNotFoundError),
        ((), NEMO, None, ChatNeeds(images=True), BadRequestError),
        ((), VISION, [NEMO], ChatNeeds(images=True), BadRequestError),
    ],
)
def test_refusals(
    allowed: tuple[str, ...],
    model: str | None,
    fallbacks: list[str] | None,
    needs: ChatNeeds,
    error: type[ChutesError],
) -> None:
    with pytest.raises(error):
        planner(*allowed).plan(VIEW, model, fallbacks, needs)


def test_allow_list_accepts_aliases_and_any_case() -> None:
    plan = planner("chutes-default").plan(VIEW, GLM.upper(), None, TEXT_ONLY)
    assert [c.model for c in plan.candidates] == [GLM]


# -- the cost guard -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "user", "content": "abcdef"}], 2 + 8),
        ([{"role": "user", "content": "a" * 7}], 3 + 8),
        ([{"role": "system", "content": ""}, {"role": "user", "content": "abc"}], 1 + 16),
        (
            [
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "abc"}, {"type": "image_url", "image_url": {}}],
                }
            ],
            1 + 8 + 1_600,
        ),
    ],
)
def test_prompt_estimate(messages: list[dict[str, object]], expected: int) -> None:
    assert estimate_prompt_tokens(messages) == expected


def _info(model_id: str) -> ModelInfo | None:
    return planner().model_info(VIEW, model_id)


@pytest.mark.parametrize(
    ("model", "prompt_tokens", "max_tokens", "usd"),
    [
        (GLM, 1_000_000, 1, 0.38 + 1.7 / 1_000_000),
        (GLM, 0, 1_000_000, 1.7),
        (GLM, 0, None, 65535 * 1.7 / 1_000_000),  # the model's own output ceiling
        ("NousResearch/Hermes-4.3-36B", 10, None, None),  # no published output ceiling
    ],
)
def test_worst_case(model: str, prompt_tokens: int, max_tokens: int | None, usd: float | None) -> None:
    case = worst_case(_info(model), prompt_tokens, max_tokens)
    assert case.usd == (pytest.approx(usd) if usd is not None else None)


def test_cost_limit_refuses_the_first_candidate_and_drops_dear_fallbacks() -> None:
    plan = planner().plan(VIEW, NEMO, ["zai-org/GLM-5-TEE"], TEXT_ONLY)
    kept = enforce_cost_limit(plan, 0.001, prompt_tokens=100, max_tokens=1000)
    assert [c.model for c in kept.plan.candidates] == [NEMO]
    assert kept.max_tokens == 1000
    assert any("GLM-5-TEE left out" in note for note in kept.plan.notes)
    with pytest.raises(CostLimitError, match="exceeds the limit"):
        enforce_cost_limit(plan, 0.00001, prompt_tokens=100, max_tokens=1000)


def test_without_max_tokens_the_limit_caps_it_and_says_so() -> None:
    """The README's example: $0.05 on GLM-4.7 ($1.70 per 1M output, up to 65,535 tokens: $0.11)."""
    plan = planner().plan(VIEW, GLM, None, TEXT_ONLY)
    budget = enforce_cost_limit(plan, 0.05, prompt_tokens=1_000, max_tokens=None)
    expected = int((0.05 * 1_000_000 - 1_000 * 0.38) / 1.7)  # 29,188 tokens
    assert budget.max_tokens == expected
    case = worst_case(_info(GLM), 1_000, budget.max_tokens)
    assert case.usd is not None
    assert case.usd <= 0.05
    assert budget.plan.candidates == plan.candidates
    assert any(f"max_tokens capped at {expected:,}" in note for note in budget.plan.notes)
    # A limit the whole output fits in leaves max_tokens alone.
    roomy = enforce_cost_limit(plan, 1.0, prompt_tokens=1_000, max_tokens=None)
    assert (roomy.max_tokens, roomy.plan.notes) == (None, plan.notes)


def test_a_limit_too_small_for_a_short_answer_refuses() -> None:
    plan = planner().plan(VIEW, GLM, None, TEXT_ONLY)
    with pytest.raises(CostLimitError, match="the shortest answer allowed"):
        enforce_cost_limit(plan, 0.0001, prompt_tokens=100, max_tokens=None)


def test_cost_limit_caps_what_has_prices_but_no_ceiling_and_refuses_what_has_no_prices() -> None:
    plan = planner().plan(VIEW, "NousResearch/Hermes-4.3-36B", None, TEXT_ONLY)
    budget = enforce_cost_limit(plan, 10.0, prompt_tokens=100, max_tokens=None)
    assert budget.max_tokens is not None
    assert budget.max_tokens > 0
    assert (
        enforce_cost_limit(plan, 10.0, prompt_tokens=100, max_tokens=100).plan.candidates == plan.candidates
    )
    first = plan.candidates[0]
    assert first.info is not None
    unpriced = replace(first, info=first.info.model_copy(update={"prices": Prices()}))
    with pytest.raises(CostLimitError, match="gives no token prices"):
        enforce_cost_limit(replace(plan, candidates=(unpriced,)), 10.0, 100, None)


@pytest.mark.parametrize(
    ("model", "fallbacks", "expected"),
    [
        (V3, None, [V3, GLM]),  # keyed by the id
        (V3.lower(), None, [V3, GLM]),  # any spelling of it
        ("chutes-pro", None, ["deepseek-ai/DeepSeek-V3.2-TEE", NEMO]),  # keyed by the alias as written
        (V3, [NEMO], [V3, NEMO]),  # an explicit list wins
        (NEMO, None, [NEMO]),
    ],
)
def test_configured_fallbacks(model: str, fallbacks: list[str] | None, expected: list[str]) -> None:
    configured = ChatPlanner(
        ModelResolver(),
        default_model="chutes-default",
        fallbacks={V3: ["chutes-default"], "Chutes-Pro": [NEMO]},
    )
    plan = configured.plan(VIEW, model, fallbacks, TEXT_ONLY)
    assert [c.model for c in plan.candidates] == expected


def test_the_same_call_on_the_same_snapshot_reuses_its_plan() -> None:
    chat = planner()
    first = chat.plan(VIEW, "chutes-fast", [GLM], TEXT_ONLY)
    assert chat.plan(VIEW, "chutes-fast", (GLM,), TEXT_ONLY) is first
    assert chat.plan(VIEW, "chutes-fast", [GLM], ChatNeeds(tee_only=True)) is not first
    assert chat.plan(VIEW, "chutes-fast", [V3], TEXT_ONLY) is not first
    refetched = dataclasses.replace(bundled_snapshot())  # an equal copy, as a refresh loads it
    fresh = CatalogView(snapshot=refetched, source="live", stale=False, last_error=None)
    replanned = chat.plan(fresh, "chutes-fast", [GLM], TEXT_ONLY)
    assert replanned is not first
    assert replanned == first


def test_a_refused_plan_is_refused_again() -> None:
    chat = planner(GLM)
    for _ in range(2):
        with pytest.raises(ModelNotAllowedError):
            chat.plan(VIEW, V3, None, TEXT_ONLY)
