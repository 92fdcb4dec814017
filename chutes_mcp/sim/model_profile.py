"""What the chat path needs to know about one chute, worked out once per catalog and model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from chutes_mcp.sim.catalog import ALWAYS_THINKING, THINKING_DEFAULT_ON, Catalog


@dataclass(frozen=True)
class ModelProfile:
    name: str
    chute_id: str
    sglang: bool
    tee: bool
    can_reason: bool
    always_thinking: bool
    thinking_by_default: bool
    # USD per 1M tokens, as `pricing` lists them.
    prompt_price: float
    completion_price: float

    def thinks(self, switch: bool | None) -> bool:
        """Thinking needs a reasoning model; the caller's switch wins over the model's default."""
        if self.always_thinking:
            return True
        if not self.can_reason:
            return False
        return self.thinking_by_default if switch is None else switch

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_price + completion_tokens * self.completion_price) / 1e6


_CACHE: WeakKeyDictionary[Catalog, dict[str, ModelProfile]] = WeakKeyDictionary()


def profile(catalog: Catalog, entry: Mapping[str, Any]) -> ModelProfile:
    by_name = _CACHE.get(catalog)
    if by_name is None:
        by_name = _CACHE[catalog] = {}
    found = by_name.get(entry["id"])
    if found is None:
        found = by_name[entry["id"]] = _build(entry)
    return found


def _build(entry: Mapping[str, Any]) -> ModelProfile:
    name: str = entry["id"]
    pricing = entry.get("pricing")
    if not isinstance(pricing, Mapping):
        pricing = {}
    always = ALWAYS_THINKING.search(name) is not None
    return ModelProfile(
        name=name,
        chute_id=entry["chute_id"],
        sglang=entry.get("owned_by") == "sglang",
        tee=bool(entry.get("confidential_compute")),
        can_reason=always or "reasoning" in (entry.get("supported_features") or ()),
        always_thinking=always,
        thinking_by_default=name in THINKING_DEFAULT_ON,
        prompt_price=float(pricing.get("prompt") or 0.0),
        completion_price=float(pricing.get("completion") or 0.0),
    )
