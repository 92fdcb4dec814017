"""Hard filters over the catalog, shared by `list_models` and the constraints of `pick_model`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cached_property, partial
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from chutes_mcp.chutes.catalog.models import ModelInfo

Feature = Literal["json_mode", "structured_outputs", "tools", "reasoning"]
Modality = Literal["text", "image", "video", "audio"]
CatalogSource = Literal["live", "cache", "disk", "bundled"]

FEATURES: tuple[Feature, ...] = ("json_mode", "structured_outputs", "tools", "reasoning")


def _singular_spelling_accepted(value: object) -> object:
    # Chutes itself spells it both ways; accept what users copy from the catalog.
    if isinstance(value, list | tuple):
        return tuple("structured_outputs" if item == "structured_output" else item for item in value)
    return value


def _list_as_tuple(value: object) -> object:
    # JSON has arrays only; a strict model takes a tuple field from a list only through this.
    return tuple(value) if isinstance(value, list) else value


def _case_folded(value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(item.strip().lower().removeprefix("chutes/") for item in value)


# The normalizations live in the types rather than in the model's validators, so any model built from
# these fields (the SDK's model of a tool's arguments among them) reads values the same way.
Features = Annotated[tuple[Feature, ...], BeforeValidator(_singular_spelling_accepted)]
ExcludedIds = Annotated[tuple[str, ...], BeforeValidator(_list_as_tuple), AfterValidator(_case_folded)]


class ModelFilter(BaseModel):
    """Hard requirements a model must meet; unknown catalog values never satisfy a requirement."""

    # A price limit of NaN would let nothing through, and one of infinity (1e400 as JSON reads it) is
    # no limit: neither is what a caller meant.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    tee_only: bool = Field(False, description="Only models running in a TEE (`confidential_compute`).")
    features: Features = Field((), description="Features every model must support.")
    input_modality: Modality | None = Field(None, description="An input the model must accept.")
    min_context: int | None = Field(None, ge=1, description="Minimum context window in tokens.")
    max_input_price: float | None = Field(None, ge=0, description="Maximum USD per 1M input tokens.")
    max_output_price: float | None = Field(None, ge=0, description="Maximum USD per 1M output tokens.")
    exclude: ExcludedIds = Field((), description="Model ids to leave out (any letter case).")

    @cached_property
    def _checks(self) -> tuple[tuple[str, Callable[[ModelInfo], bool]], ...]:
        # Only the constraints actually set, built once: filtering 10,000 models stays in milliseconds.
        checks: list[tuple[str, Callable[[ModelInfo], bool]]] = []
        if self.tee_only:
            checks.append(("not_tee", lambda model: model.tee is True))
        for feature in self.features:
            checks.append((f"missing_feature:{feature}", partial(ModelInfo.has_feature, feature=feature)))
        if (modality := self.input_modality) is not None:
            checks.append((f"no_{modality}_input", partial(ModelInfo.accepts, modality=modality)))
        if (min_context := self.min_context) is not None:
            checks.append(("context_too_small", lambda model: (model.context_length or 0) >= min_context))
        if (max_input := self.max_input_price) is not None:
            checks.append(("input_price_too_high", lambda model: _at_most(model.prices.prompt, max_input)))
        if (max_output := self.max_output_price) is not None:
            checks.append(
                ("output_price_too_high", lambda model: _at_most(model.prices.completion, max_output))
            )
        if excluded := frozenset(self.exclude):
            checks.append(("excluded", lambda model: model.id.lower() not in excluded))
        return tuple(checks)

    def partition(self, models: Sequence[ModelInfo]) -> tuple[list[int], dict[str, int]]:
        """Positions of the models that pass, and how many failed for each reason (first failed check)."""
        passing = list(range(len(models)))
        rejected: dict[str, int] = {}
        for reason, passes in self._checks:
            kept = [position for position in passing if passes(models[position])]
            if len(kept) < len(passing):
                rejected[reason] = len(passing) - len(kept)
            passing = kept
        return passing, rejected


def _at_most(price: float | None, limit: float) -> bool:
    return price is not None and price <= limit


class ModelList(BaseModel):
    """Catalog models that pass a filter, in the order Chutes serves them (most used first)."""

    source: CatalogSource = Field(
        description="Where the catalog came from: live (fetched for this answer), cache (in memory, "
        "within the TTL), disk (last good copy saved locally) or bundled (the snapshot shipped with chutes-mcp)."
    )
    fetched_at: datetime = Field(description="When that copy of the catalog was fetched from Chutes.")
    stale: bool = Field(description="True when the copy is older than the cache TTL or not from Chutes now.")
    count: int = Field(description="Number of models listed.")
    models: list[ModelInfo] = Field(description="The matching models.")
