"""Model name resolution: every accepted form, routing strings, aliases and misses, on the bundled snapshot."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chutes_mcp.chutes.catalog.aliases import BUILTIN_ALIASES, ModelResolver
from chutes_mcp.chutes.catalog.models import ModelInfo
from chutes_mcp.chutes.catalog.routing import parse_routing_string
from chutes_mcp.chutes.catalog.service import CatalogSnapshot, CatalogView, bundled_snapshot
from chutes_mcp.chutes.errors import BadRequestError, ChutesError, ModelNotFoundError, TeeRequiredError


def _view(models: tuple[ModelInfo, ...] | None = None) -> CatalogView:
    snapshot = bundled_snapshot()
    if models is not None:
        snapshot = CatalogSnapshot(models=models, origin="live", fetched_at=datetime(2026, 3, 1, tzinfo=UTC))
    return CatalogView(snapshot=snapshot, source=snapshot.origin, stale=False, last_error=None)


VIEW = _view()
USER_ALIASES = {
    "mine": "glm-4.7-flash",
    "Team-Chain": "chutes-pro,qwen3-32b:latency",
    "fast": "chutes-fast",  # an alias to an alias
    "CHUTES-FAST": "Qwen/Qwen3-32B",  # user aliases win over built-ins
    "loop-a": "loop-b",
    "loop-b": "loop-a",
    "gone": "org/Vanished",
}


@pytest.mark.parametrize(
    ("name", "tee_only", "model", "via"),
    [
        # exact id, any case, chutes/ provider prefix
        ("Qwen/Qwen3-32B", False, "Qwen/Qwen3-32B", ["exact"]),
        ("qwen/qwen3-32b", False, "Qwen/Qwen3-32B", ["case_insensitive"]),
        ("chutes/Qwen/Qwen3-32B", False, "Qwen/Qwen3-32B", ["provider_prefix"]),
        ("CHUTES/QWEN/QWEN3-32B", False, "Qwen/Qwen3-32B", ["provider_prefix", "case_insensitive"]),
        ("  Qwen/Qwen3-32B  ", False, "Qwen/Qwen3-32B", ["exact"]),
        # without the org prefix when unique
        ("Qwen3-32B", False, "Qwen/Qwen3-32B", ["org_omitted"]),
        ("glm-4.7-flash", False, "zai-org/GLM-4.7-Flash", ["org_omitted"]),
        # with or without -TEE: the plain name reaches the TEE twin when only that exists (as Chutes re-routes)
        ("zai-org/GLM-4.7", False, "zai-org/GLM-4.7-TEE", ["tee_twin"]),
        ("zai-org/glm-4.7-tee", False, "zai-org/GLM-4.7-TEE", ["case_insensitive"]),
        ("glm-4.7", False, "zai-org/GLM-4.7-TEE", ["org_omitted", "tee_twin"]),
        ("GLM-4.7-TEE", False, "zai-org/GLM-4.7-TEE", ["org_omitted"]),
        ("deepseek-ai/DeepSeek-V3.2", True, "deepseek-ai/DeepSeek-V3.2-TEE", ["tee_twin"]),
        # the HF root and the chute_id, which Chutes also accepts
        ("zai-org/GLM-5-FP8", False, "zai-org/GLM-5-TEE", ["alternate_key", "tee_twin"]),
        ("0d7184a2-32a3-53e0-9607-058c37edaab5", False, "Qwen/Qwen3-32B", ["alternate_key"]),
        # built-in aliases, any case, with the provider prefix
        ("chutes-pro", False, "deepseek-ai/DeepSeek-V3.2-TEE", ["alias:chutes-pro"]),
        ("Chutes-Vision", False, "chutesai/Mistral-Small-3.2-24B-Instruct-2506", ["alias:chutes-vision"]),
        ("chutes-default", True, "zai-org/GLM-4.7-TEE", ["alias:chutes-default"]),
        (
            "chutes/chutes-pro",
            False,
            "deepseek-ai/DeepSeek-V3.2-TEE",
            ["provider_prefix", "alias:chutes-pro"],
        ),
        # user aliases
        ("mine", False, "zai-org/GLM-4.7-Flash", ["user_alias:mine", "org_omitted"]),
        ("MINE", False, "zai-org/GLM-4.7-Flash", ["user_alias:mine", "org_omitted"]),
        ("chutes-fast", False, "Qwen/Qwen3-32B", ["user_alias:chutes-fast"]),
        ("fast", False, "Qwen/Qwen3-32B", ["user_alias:fast", "user_alias:chutes-fast"]),
    ],
)
def test_single_model_forms(name: str, tee_only: bool, model: str, via: list[str]) -> None:
    resolution = ModelResolver(USER_ALIASES).resolve(VIEW, name, tee_only=tee_only)
    assert resolution.model == model
    assert [member.via for member in resolution.members] == [via]
    assert (resolution.selector, resolution.thinking, resolution.source) == (None, False, "bundled")


def test_builtin_alias_targets_are_the_documented_ones() -> None:
    resolver = ModelResolver()
    targets = {alias: resolver.resolve(VIEW, alias).model for alias in BUILTIN_ALIASES}
    assert targets == {
        "chutes-fast": "zai-org/GLM-4.7-FP8",
        "chutes-pro": "deepseek-ai/DeepSeek-V3.2-TEE",
        "chutes-vision": "chutesai/Mistral-Small-3.2-24B-Instruct-2506",
        "chutes-default": "zai-org/GLM-4.7-TEE",
    }


@pytest.mark.parametrize(
    ("name", "model", "selector", "thinking"),
    [
        ("glm-4.7,qwen3-32b", "zai-org/GLM-4.7-TEE,Qwen/Qwen3-32B", None, False),
        ("glm-4.7 , qwen3-32b", "zai-org/GLM-4.7-TEE,Qwen/Qwen3-32B", None, False),
        ("glm-4.7,qwen3-32b:latency", "zai-org/GLM-4.7-TEE,Qwen/Qwen3-32B:latency", "latency", False),
        (
            "glm-4.7,qwen3-32b:THROUGHPUT",
            "zai-org/GLM-4.7-TEE,Qwen/Qwen3-32B:throughput",
            "throughput",
            False,
        ),
        ("glm-4.7:THINKING", "zai-org/GLM-4.7-TEE:THINKING", None, True),
        ("glm-4.7:thinking", "zai-org/GLM-4.7-TEE:THINKING", None, True),
        (
            "chutes-pro,glm-4.7:latency:THINKING",
            "deepseek-ai/DeepSeek-V3.2-TEE,zai-org/GLM-4.7-TEE:latency:THINKING",
            "latency",
            True,
        ),
        (
            "glm-4.7,chutes-pro:THINKING:throughput",
            "zai-org/GLM-4.7-TEE,deepseek-ai/DeepSeek-V3.2-TEE:throughput:THINKING",
            "throughput",
            True,
        ),
        # repeats collapse, first place kept
        ("glm-4.7,zai-org/GLM-4.7-TEE,qwen3-32b", "zai-org/GLM-4.7-TEE,Qwen/Qwen3-32B", None, False),
        # a user alias to a routing string brings its members and its selector
        ("team-chain", "deepseek-ai/DeepSeek-V3.2-TEE,Qwen/Qwen3-32B:latency", "latency", False),
        (
            "team-chain,glm-4.7-flash",
            "deepseek-ai/DeepSeek-V3.2-TEE,Qwen/Qwen3-32B,zai-org/GLM-4.7-Flash:latency",
            "latency",
            False,
        ),
        (
            "team-chain:throughput",
            "deepseek-ai/DeepSeek-V3.2-TEE,Qwen/Qwen3-32B:throughput",
            "throughput",
            False,
        ),
    ],
)
def test_routing_strings(name: str, model: str, selector: str | None, thinking: bool) -> None:
    resolution = ModelResolver(USER_ALIASES).resolve(VIEW, name)
    assert (resolution.model, resolution.selector, resolution.thinking) == (model, selector, thinking)
    assert resolution.model_ids == model.split(":")[0].split(",")


def test_routing_string_members_obey_tee_only() -> None:
    resolution = ModelResolver().resolve(
        VIEW, "zai-org/GLM-4.7,deepseek-ai/DeepSeek-V3.2:latency", tee_only=True
    )
    assert resolution.model == "zai-org/GLM-4.7-TEE,deepseek-ai/DeepSeek-V3.2-TEE:latency"
    with pytest.raises(TeeRequiredError):
        ModelResolver().resolve(VIEW, "glm-4.7,qwen3-32b", tee_only=True)


@pytest.mark.parametrize(
    ("alias", "catalog_without", "tee_only", "intent", "why"),
    [
        ("chutes-fast", "zai-org/GLM-4.7-FP8", False, "cheap", "is not in the catalog"),
        ("chutes-pro", "deepseek-ai/DeepSeek-V3.2-TEE", False, "reasoning", "is not in the catalog"),
        (
            "chutes-vision",
            "chutesai/Mistral-Small-3.2-24B-Instruct-2506",
            False,
            "vision",
            "is not in the catalog",
        ),
        ("chutes-default", "zai-org/GLM-4.7-TEE", True, "general", "is not in the catalog"),
        ("chutes-fast", None, True, "cheap", "does not run in a TEE"),
        ("chutes-vision", None, True, "vision", "does not run in a TEE"),
    ],
)
def test_alias_whose_target_is_gone_resolves_by_intent(
    alias: str, catalog_without: str | None, tee_only: bool, intent: str, why: str
) -> None:
    models = tuple(model for model in bundled_snapshot().models if model.id != catalog_without)
    resolution = ModelResolver().resolve(_view(models), alias, tee_only=tee_only)
    (member,) = resolution.members
    assert member.via == [f"alias:{alias}", f"intent:{intent}"]
    assert member.note is not None
    assert why in member.note
    assert f"{intent!r} preset" in member.note
    assert member.id != catalog_without
    assert member.tee or not tee_only


def test_alias_with_no_target_and_no_fitting_model_is_not_found() -> None:
    text_only = tuple(model for model in bundled_snapshot().models if not model.accepts("image"))
    with pytest.raises(ModelNotFoundError, match="vision"):
        ModelResolver().resolve(_view(text_only), "chutes-vision")


@pytest.mark.parametrize(
    ("name", "tee_only", "error", "code", "in_message"),
    [
        ("glm-4.8", False, ModelNotFoundError, "model_not_found", "zai-org/GLM-4.7"),
        (
            "Qwen/Qwen3-32B-TEE",
            False,
            ModelNotFoundError,
            "model_not_found",
            "nearest",
        ),  # asked TEE: plain is no match
        ("definitely-not-a-model", False, ModelNotFoundError, "model_not_found", "nearest"),
        ("glm-4.7,nope", False, ModelNotFoundError, "model_not_found", "'nope'"),
        ("qwen3-32b", True, TeeRequiredError, "tee_required", "Qwen/Qwen3-32B"),
        ("chutes/zai-org/GLM-4.7-FP8", True, TeeRequiredError, "tee_required", "GLM-4.7-FP8"),
        ("gone", False, ModelNotFoundError, "model_not_found", "alias 'gone' points to 'org/Vanished'"),
        ("loop-a", False, BadRequestError, "bad_request", "refers to itself"),
        ("", False, BadRequestError, "bad_request", "empty"),
        ("a,,b", False, BadRequestError, "bad_request", "empty"),
        (":latency", False, BadRequestError, "bad_request", "empty"),
    ],
)
def test_misses_raise_typed_errors(
    name: str, tee_only: bool, error: type[ChutesError], code: str, in_message: str
) -> None:
    with pytest.raises(error) as caught:
        ModelResolver(USER_ALIASES).resolve(VIEW, name, tee_only=tee_only)
    assert caught.value.code == code
    assert in_message in caught.value.message
    assert caught.value.hint


def test_a_miss_names_the_three_nearest_ids() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        ModelResolver().resolve(VIEW, "zai-org/GLM-4.8-TEE")
    nearest = caught.value.message.split("nearest: ")[1].split(", ")
    assert len(nearest) == 3
    assert "zai-org/GLM-4.7-TEE" in nearest
    assert all(model_id in {model.id for model in VIEW.models} for model_id in nearest)


def test_tee_only_suggestions_are_tee_models() -> None:
    with pytest.raises(TeeRequiredError) as caught:
        ModelResolver().resolve(VIEW, "Qwen/Qwen3-32B", tee_only=True)
    assert "-TEE" in caught.value.hint


def test_name_without_org_that_fits_several_orgs_is_ambiguous() -> None:
    models = (*bundled_snapshot().models, ModelInfo(id="other-org/Qwen3-32B", tee=False))
    with pytest.raises(ModelNotFoundError, match="several models"):
        ModelResolver().resolve(_view(models), "qwen3-32b")


@pytest.mark.parametrize("aliases", [{"": "x"}, {"a,b": "x"}, {"ok": "  "}])
def test_unusable_user_aliases_are_refused(aliases: dict[str, str]) -> None:
    with pytest.raises(BadRequestError):
        ModelResolver(aliases)


def test_alias_table_merges_user_over_builtin() -> None:
    table = ModelResolver({"CHUTES-FAST": "x/Y", "mine": "a/B"}).aliases()
    assert table["chutes-fast"] == "x/Y"
    assert table["mine"] == "a/B"
    assert table["chutes-pro"] == "deepseek-ai/DeepSeek-V3.2-TEE"


@pytest.mark.parametrize(
    ("text", "members", "selector", "thinking"),
    [
        ("a", ("a",), None, False),
        ("a,b,c", ("a", "b", "c"), None, False),
        ("a,b:latency", ("a", "b"), "latency", False),
        ("a:THINKING", ("a",), None, True),
        ("a:latency:THINKING", ("a",), "latency", True),
        ("a:THINKING:latency", ("a",), "latency", True),
        ("org/m:v1", ("org/m:v1",), None, False),  # an unknown suffix stays part of the name
    ],
)
def test_parse_routing_string(
    text: str, members: tuple[str, ...], selector: str | None, thinking: bool
) -> None:
    parsed = parse_routing_string(text)
    assert (parsed.members, parsed.selector, parsed.thinking) == (members, selector, thinking)
