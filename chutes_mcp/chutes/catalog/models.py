"""One LLM of the Chutes catalog, normalized from a raw `GET /v1/models` entry.

Chutes builds each entry from the engine's model card plus admin overrides; chutes without overrides
(6 of 61 on 2026-02-18) lack every optional field. Those are kept, with the unknowns as `None`, so a
filter can tell "does not support" (False) from "nobody said" (None).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chutes_mcp.log import get_logger

_log = get_logger(__name__)

# Two live entries spell it `structured_output`; one name per feature keeps filters honest.
_FEATURE_SPELLINGS = {"structured_output": "structured_outputs"}


class Prices(BaseModel):
    """Prices in USD per 1 million tokens, as Chutes bills them; None when the catalog does not say."""

    model_config = ConfigDict(frozen=True)

    prompt: float | None = Field(None, description="USD per 1M input tokens.")
    completion: float | None = Field(None, description="USD per 1M output tokens.")
    cache_read: float | None = Field(None, description="USD per 1M cached input tokens (prefix-cache hits).")


class ModelInfo(BaseModel):
    """An LLM served by Chutes; `None` in any optional field means unknown, not absent."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="The model id to send as `model`, e.g. `zai-org/GLM-4.7-TEE`.")
    root: str | None = Field(None, description="The underlying Hugging Face repository.")
    engine: str | None = Field(None, description="Inference engine serving it (`vllm` or `sglang`).")
    chute_id: str | None = Field(None, description="The Chutes deployment id (a UUID).")
    tee: bool | None = Field(
        None, description="Runs in a Trusted Execution Environment (from `confidential_compute`)."
    )
    context_length: int | None = Field(None, description="Usable context window in tokens.")
    max_model_len: int | None = Field(None, description="Engine maximum sequence length in tokens.")
    max_output_tokens: int | None = Field(None, description="Maximum tokens one answer may have.")
    quantization: str | None = Field(None, description="Weight precision, e.g. `bf16`, `fp8`, `int4`.")
    input_modalities: tuple[str, ...] | None = Field(None, description="Accepted inputs, e.g. text, image.")
    output_modalities: tuple[str, ...] | None = Field(None, description="Produced outputs, e.g. text.")
    features: tuple[str, ...] | None = Field(
        None, description="Supported features: json_mode, structured_outputs, tools, reasoning."
    )
    sampling_parameters: tuple[str, ...] | None = Field(None, description="Accepted sampling parameters.")
    prices: Prices = Field(default_factory=Prices, description="Prices in USD per 1M tokens.")
    reasoning: bool | None = Field(None, description="Can produce a separate reasoning (thinking) trace.")
    created: int | None = Field(None, description="Unix time Chutes last refreshed this entry.")

    def has_feature(self, feature: str) -> bool:
        """True only when the catalog says so; an unknown feature list counts as not supported."""
        return self.features is not None and feature in self.features

    def accepts(self, modality: str) -> bool:
        """True only when the catalog lists this input modality."""
        return self.input_modalities is not None and modality in self.input_modalities


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer of hundreds of digits
        return None
    # NaN and infinity (Python's JSON reads both) are no price: it is unknown.
    return number if math.isfinite(number) and number >= 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(dict.fromkeys(item for item in value if isinstance(item, str)))


def _features(value: Any) -> tuple[str, ...] | None:
    names = _strings(value)
    if names is None:
        return None
    return tuple(dict.fromkeys(_FEATURE_SPELLINGS.get(name, name) for name in names))


def _usd(price: Any, key: str) -> float | None:
    entry = price.get(key) if isinstance(price, Mapping) else None
    return _float(entry.get("usd")) if isinstance(entry, Mapping) else None


def _prices(raw: Mapping[str, Any]) -> Prices:
    # `pricing` is the flat OpenRouter-style copy; `price.*.usd` carries the same numbers.
    pricing = raw.get("pricing")
    flat = pricing if isinstance(pricing, Mapping) else {}
    price = raw.get("price")

    def pick(flat_key: str, nested_key: str) -> float | None:
        value = _float(flat.get(flat_key))
        return value if value is not None else _usd(price, nested_key)

    return Prices(
        prompt=pick("prompt", "input"),
        completion=pick("completion", "output"),
        cache_read=pick("input_cache_read", "input_cache_read"),
    )


def model_from_raw(raw: Mapping[str, Any]) -> ModelInfo:
    """Normalize one `/v1/models` entry; raises ValueError when it has no usable `id`."""
    model_id = _str(raw.get("id"))
    if model_id is None:
        raise ValueError("catalog entry without an `id`")
    max_model_len = _int(raw.get("max_model_len"))
    features = _features(raw.get("supported_features"))
    tee = raw.get("confidential_compute")
    return ModelInfo(
        id=model_id,
        root=_str(raw.get("root")),
        engine=_str(raw.get("owned_by")),
        chute_id=_str(raw.get("chute_id")),
        tee=tee if isinstance(tee, bool) else None,
        context_length=_int(raw.get("context_length")) or max_model_len,
        max_model_len=max_model_len,
        max_output_tokens=_int(raw.get("max_output_length")),
        quantization=_str(raw.get("quantization")),
        input_modalities=_strings(raw.get("input_modalities")),
        output_modalities=_strings(raw.get("output_modalities")),
        features=features,
        sampling_parameters=_strings(raw.get("supported_sampling_parameters")),
        prices=_prices(raw),
        reasoning=None if features is None else "reasoning" in features,
        created=_int(raw.get("created")),
    )


def models_from_raw(entries: Iterable[Any]) -> tuple[ModelInfo, ...]:
    """Normalize a `/v1/models` `data` list in served (popularity) order, dropping broken entries and repeats."""
    models: dict[str, ModelInfo] = {}
    skipped: dict[str, int] = {}
    for raw in entries:
        if not isinstance(raw, Mapping):
            skipped["not an object"] = skipped.get("not an object", 0) + 1
            continue
        try:
            model = model_from_raw(raw)
        except ValueError as exc:
            skipped[str(exc)] = skipped.get(str(exc), 0) + 1
            continue
        models.setdefault(model.id, model)
    if skipped:
        # One line for the list, however many entries are broken (a cache of another shape is all of them).
        _log.warning(
            "catalog_entries_skipped", count=sum(skipped.values()), reasons=dict(list(skipped.items())[:5])
        )
    return tuple(models.values())
