"""Normalizing raw `/v1/models` entries into ModelInfo."""

from __future__ import annotations

from typing import Any

import pytest

from chutes_mcp.chutes.catalog.models import ModelInfo, model_from_raw, models_from_raw
from chutes_mcp.chutes.catalog.service import bundled_snapshot

BASE: dict[str, Any] = {
    "id": "org/Model",
    "root": "org/Model",
    "owned_by": "vllm",
    "chute_id": "0d7184a2-32a3-53e0-9607-058c37edaab5",
    "max_model_len": 32768,
    "confidential_compute": False,
    "pricing": {"prompt": 0.1, "completion": 0.4, "input_cache_read": 0.05},
}


def _snapshot_model(model_id: str) -> ModelInfo:
    return next(model for model in bundled_snapshot().models if model.id == model_id)


def test_snapshot_has_the_61_models_and_21_tee_of_2026_02_18() -> None:
    snapshot = bundled_snapshot()
    assert snapshot.fetched_at.date().isoformat() == "2026-02-18"
    assert len(snapshot.models) == 61
    assert sum(1 for model in snapshot.models if model.tee) == 21
    assert snapshot.models[0].id == "Qwen/Qwen3-32B"  # served order (most used first) is kept


@pytest.mark.parametrize(
    ("model_id", "field", "expected"),
    [
        ("zai-org/GLM-4.7-TEE", "tee", True),
        ("zai-org/GLM-4.7-TEE", "engine", "vllm"),
        ("zai-org/GLM-4.7-TEE", "root", "zai-org/GLM-4.7"),
        ("zai-org/GLM-4.7-TEE", "chute_id", "08a7a60f-6956-5a9e-9983-5603c3ac5a38"),
        ("zai-org/GLM-4.7-TEE", "context_length", 202752),
        ("zai-org/GLM-4.7-TEE", "max_output_tokens", 65535),
        ("zai-org/GLM-4.7-TEE", "quantization", "bf16"),
        ("zai-org/GLM-4.7-TEE", "reasoning", True),
        ("zai-org/GLM-4.7-TEE", "output_modalities", ("text",)),
        ("Qwen/Qwen3-32B", "engine", "sglang"),
        ("Qwen/Qwen3-32B", "tee", False),
        ("moonshotai/Kimi-K2.5-TEE", "input_modalities", ("text", "image", "video")),
        ("deepseek-ai/DeepSeek-V3-0324-TEE", "reasoning", False),
        # advertised context wins over a larger engine limit
        ("unsloth/gemma-3-4b-it", "context_length", 96000),
        ("unsloth/gemma-3-4b-it", "max_model_len", 1048576),
        # an entry without admin overrides: kept, context from max_model_len, the rest unknown
        ("NousResearch/Hermes-4.3-36B", "context_length", 524288),
        ("NousResearch/Hermes-4.3-36B", "features", None),
        ("NousResearch/Hermes-4.3-36B", "reasoning", None),
        ("NousResearch/Hermes-4.3-36B", "input_modalities", None),
        ("NousResearch/Hermes-4.3-36B", "quantization", None),
        ("NousResearch/Hermes-4.3-36B", "max_output_tokens", None),
        ("NousResearch/Hermes-4.3-36B", "sampling_parameters", None),
    ],
)
def test_snapshot_fields(model_id: str, field: str, expected: object) -> None:
    assert getattr(_snapshot_model(model_id), field) == expected


def test_structured_output_typo_is_normalized() -> None:
    model = _snapshot_model("Qwen/Qwen3-VL-235B-A22B-Instruct")
    assert model.features is not None
    assert "structured_outputs" in model.features
    assert "structured_output" not in model.features
    assert model.has_feature("structured_outputs")


def test_sampling_parameters_and_prices() -> None:
    model = _snapshot_model("zai-org/GLM-4.7-TEE")
    assert model.sampling_parameters is not None
    assert "seed" in model.sampling_parameters
    assert (model.prices.prompt, model.prices.completion, model.prices.cache_read) == (0.38, 1.7, 0.19)


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        # TEE comes from confidential_compute, never from the name
        ({"id": "org/Model-TEE", "confidential_compute": False}, "tee", False),
        ({"id": "org/Model", "confidential_compute": True}, "tee", True),
        ({"confidential_compute": None}, "tee", None),
        ({"context_length": 8192}, "context_length", 8192),
        ({"context_length": "big"}, "context_length", 32768),
        ({"max_model_len": None}, "context_length", None),
        (
            {"supported_features": ["structured_output", "structured_outputs"]},
            "features",
            ("structured_outputs",),
        ),
        ({"supported_features": []}, "reasoning", False),
        ({"supported_features": ["reasoning"]}, "reasoning", True),
        ({"input_modalities": "text"}, "input_modalities", None),
        ({"created": 1771393340}, "created", 1771393340),
    ],
)
def test_normalization_rules(overrides: dict[str, Any], field: str, expected: object) -> None:
    assert getattr(model_from_raw({**BASE, **overrides}), field) == expected


@pytest.mark.parametrize(
    ("pricing", "price", "expected"),
    [
        ({"prompt": 0.1, "completion": 0.4, "input_cache_read": 0.05}, None, (0.1, 0.4, 0.05)),
        (
            None,
            {"input": {"usd": 0.2}, "output": {"usd": 0.8}, "input_cache_read": {"usd": 0.1}},
            (0.2, 0.8, 0.1),
        ),
        ({"prompt": "free"}, None, (None, None, None)),
        ({"prompt": -1}, None, (None, None, None)),
        ({}, {"input": {"tao": 0.001}}, (None, None, None)),
    ],
)
def test_prices(pricing: Any, price: Any, expected: tuple[float | None, ...]) -> None:
    raw = {key: value for key, value in BASE.items() if key != "pricing"}
    raw.update({"pricing": pricing, "price": price})
    prices = model_from_raw(raw).prices
    assert (prices.prompt, prices.completion, prices.cache_read) == expected


def test_broken_entries_are_skipped_and_repeats_dropped() -> None:
    entries: list[Any] = [
        BASE,
        {"id": ""},
        {"root": "x"},
        "junk",
        {**BASE, "root": "second"},
        {**BASE, "id": "b/B"},
    ]
    models = models_from_raw(entries)
    assert [model.id for model in models] == ["org/Model", "b/B"]
    assert models[0].root == "org/Model"


def test_entry_without_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="id"):
        model_from_raw({"root": "x"})
