"""pick_model: choose catalog models for a task, with a score anyone can recompute from its terms.

A preset adds hard requirements to the caller's constraints and weights a few plain signals, each scaled to
0..1 over the eligible models: use on Chutes (it serves `/v1/models` most-used first, a proxy for quality and
for warm capacity), blended price, context window, preferred features, output length and, for coding, a
code-model name. Score = Σ weight × value. Ties break on catalog order, then id, so equal inputs give equal
answers.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chutes_mcp.chutes.catalog.filters import CatalogSource, Feature, Modality, ModelFilter
from chutes_mcp.chutes.catalog.models import ModelInfo, Prices
from chutes_mcp.chutes.catalog.presets import Preset, Selector
from chutes_mcp.chutes.catalog.routing import format_routing_string
from chutes_mcp.chutes.catalog.service import CatalogSnapshot, CatalogView, Eligible, eligible

Term = Literal["popularity", "price", "context", "features", "output_length", "specialization"]

MAX_PICKS = 10
_PRICE_FLOOR = 0.01  # keeps free models on the log scale; Chutes never bills below $0.01 per 1M


@dataclass(frozen=True)
class PresetSpec:
    summary: str
    weights: Mapping[Term, float]
    features: tuple[Feature, ...] = ()
    modality: Modality = "text"  # entries with no published modalities have no published anything
    min_context: int | None = None
    tee_only: bool = False
    preferred: tuple[Feature, ...] = ()
    input_share: float = 0.5  # share of input tokens in the blended price the preset expects
    name_hints: tuple[str, ...] = ()


PRESETS: Mapping[Preset, PresetSpec] = {
    "general": PresetSpec(
        "well-rounded chat: widely used, capable, fairly priced",
        {"popularity": 0.35, "price": 0.25, "features": 0.25, "context": 0.15},
        preferred=("tools", "structured_outputs", "json_mode", "reasoning"),
    ),
    "coding": PresetSpec(
        "code generation and agents: tool calling, long context, input-heavy pricing",
        {"popularity": 0.25, "price": 0.2, "context": 0.2, "specialization": 0.2, "features": 0.15},
        features=("tools",),
        preferred=("structured_outputs", "reasoning"),
        input_share=0.75,
        name_hints=("code",),
    ),
    "reasoning": PresetSpec(
        "step-by-step thinking: reasoning models with room for long answers, output-heavy pricing",
        {"popularity": 0.35, "price": 0.25, "output_length": 0.25, "context": 0.15},
        features=("reasoning",),
        input_share=0.25,
    ),
    "vision": PresetSpec(
        "images in the prompt",
        {"popularity": 0.35, "price": 0.3, "features": 0.2, "context": 0.15},
        modality="image",
        preferred=("tools", "structured_outputs"),
    ),
    "long_context": PresetSpec(
        "large documents: the biggest context windows (at least 128k), input-heavy pricing",
        {"context": 0.5, "popularity": 0.3, "price": 0.2},
        min_context=128_000,
        input_share=0.9,
    ),
    "tool_use": PresetSpec(
        "function calling",
        {"popularity": 0.4, "price": 0.25, "features": 0.2, "context": 0.15},
        features=("tools",),
        preferred=("structured_outputs", "json_mode"),
    ),
    "json": PresetSpec(
        "JSON that follows a schema (structured outputs)",
        {"popularity": 0.4, "price": 0.4, "features": 0.2},
        features=("structured_outputs",),
        preferred=("json_mode", "tools"),
    ),
    "cheap": PresetSpec(
        "lowest price that still publishes its capabilities",
        {"price": 0.7, "popularity": 0.2, "features": 0.1},
        preferred=("json_mode", "structured_outputs", "tools"),
    ),
    "private": PresetSpec(
        "confidential work: TEE models only (confidential_compute)",
        {"popularity": 0.35, "price": 0.25, "features": 0.25, "context": 0.15},
        tee_only=True,
        preferred=("tools", "structured_outputs", "json_mode", "reasoning"),
    ),
}


class PickRequest(BaseModel):
    """What to pick for: a task preset plus hard constraints."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task: Preset = Field("general", description="Task preset that sets requirements and score weights.")
    constraints: ModelFilter = Field(default_factory=ModelFilter, description="Hard constraints to add.")
    k: int = Field(3, ge=1, le=MAX_PICKS, description="How many models to return.")
    selector: Selector = Field(
        "failover",
        description="Routing string style: failover (try in order), or let Chutes rank the picks by "
        "`latency` (time to first token) or `throughput` (tokens per second).",
    )


class ScoreTerm(BaseModel):
    """One signal of the score: contribution = weight × value."""

    name: Term = Field(description="The signal.")
    weight: float = Field(description="Its weight in the preset (weights sum to 1).")
    value: float = Field(description="The model's standing on it, 0 (worst eligible) to 1 (best).")
    contribution: float = Field(description="weight × value, rounded.")


class ModelPick(BaseModel):
    """One recommended model with the reasons for its place."""

    rank: int = Field(description="1 is the best pick.")
    id: str = Field(description="The model id to send as `model`.")
    score: float = Field(description="Sum of the term contributions, 0..1.")
    tee: bool | None = Field(description="Runs in a TEE (confidential_compute).")
    context_length: int | None = Field(description="Context window in tokens.")
    prices: Prices = Field(description="USD per 1M tokens.")
    features: tuple[str, ...] | None = Field(description="Supported features.")
    reasons: list[str] = Field(description="Why this model, strongest reason first.")
    terms: list[ScoreTerm] = Field(description="The score, term by term.")


class PickResult(BaseModel):
    """Ranked picks plus a routing string ready to send as `model`."""

    task: Preset = Field(description="The preset used.")
    summary: str = Field(description="What the preset optimizes for.")
    constraints: ModelFilter = Field(description="The hard constraints applied (caller's plus the preset's).")
    picks: list[ModelPick] = Field(description="Best first.")
    routing: str | None = Field(
        description="The picks as a Chutes routing string (e.g. `a,b,c`), None when nothing matched."
    )
    considered: int = Field(description="Models in the catalog.")
    eligible: int = Field(description="Models meeting every constraint.")
    rejected: dict[str, int] = Field(description="Why the other models were left out, with counts.")
    source: CatalogSource = Field(description="Where the catalog came from (live, cache, disk, bundled).")
    fetched_at: datetime = Field(description="When that copy of the catalog was fetched.")
    stale: bool = Field(description="True when the catalog copy is older than the cache TTL.")


def effective_filter(task: Preset, constraints: ModelFilter) -> ModelFilter:
    """The caller's constraints tightened by the preset's requirements."""
    spec = PRESETS[task]
    min_context = max(filter(None, (constraints.min_context, spec.min_context)), default=None)
    return constraints.model_copy(
        update={
            "tee_only": constraints.tee_only or spec.tee_only,
            "features": tuple(dict.fromkeys((*constraints.features, *spec.features))),
            "input_modality": constraints.input_modality or spec.modality,
            "min_context": min_context,
        }
    )


def pick_models(view: CatalogView, request: PickRequest) -> PickResult:
    """Rank the catalog for `request`; the same catalog and request always give the same result."""
    spec = PRESETS[request.task]
    constraints = effective_filter(request.task, request.constraints)
    ranking = view.snapshot.memo(
        ("ranking", request.task, constraints), lambda: _Ranking.of(spec, view.snapshot, constraints)
    )
    picks = [
        _explain(spec, view.snapshot, rank, ranked)
        for rank, ranked in enumerate(ranking.best[: request.k], start=1)
    ]
    return PickResult(
        task=request.task,
        summary=spec.summary,
        constraints=constraints,
        picks=picks,
        routing=routing_string([pick.id for pick in picks], request.selector) if picks else None,
        considered=len(view.models),
        eligible=len(ranking.match.positions),
        rejected=dict(sorted(ranking.match.rejected.items())),
        source=view.source,
        fetched_at=view.fetched_at,
        stale=view.stale,
    )


def routing_string(model_ids: list[str], selector: Selector = "failover") -> str:
    """Chutes' multi-model `model` value: `a,b,c`, optionally `:latency` or `:throughput`."""
    return format_routing_string(model_ids, None if selector == "failover" else selector, thinking=False)


def _logs(values: Iterable[float | None]) -> list[float | None]:
    return [None if value is None or value <= 0 else math.log(value) for value in values]


def _log_prices(models: Sequence[ModelInfo], input_share: float) -> list[float | None]:
    """log(blended price + floor) per model; None when either price is unknown."""
    logs: list[float | None] = []
    for prices in (model.prices for model in models):
        prompt, completion = prices.prompt, prices.completion
        if prompt is None or completion is None:
            logs.append(None)
        else:
            logs.append(math.log(input_share * prompt + (1 - input_share) * completion + _PRICE_FLOOR))
    return logs


def _scaled(logs: list[float | None], *, higher_is_better: bool = True) -> list[float]:
    """Each value's place between the smallest and largest of `logs` (log values), 0..1; unknown (None)
    scores 0.

    Log, because a 2x step matters about as much at 16k tokens or $0.02 as at 128k tokens or $2.
    """
    known = [value for value in logs if value is not None]
    if not known:
        return [0.0] * len(logs)
    low, high = min(known), max(known)
    if high <= low:
        return [0.0 if value is None else 1.0 for value in logs]
    span = high - low
    if higher_is_better:
        return [0.0 if value is None else (value - low) / span for value in logs]
    return [0.0 if value is None else (high - value) / span for value in logs]


def _column(
    name: Term, spec: PresetSpec, models: list[ModelInfo], positions: Sequence[int], size: int
) -> list[float]:
    """One term's values over the eligible `models` (at `positions` in a catalog of `size`)."""
    if name == "popularity":
        last = max(size - 1, 1)
        return [1.0 - position / last for position in positions]
    if name == "price":
        return _scaled(_log_prices(models, spec.input_share), higher_is_better=False)
    if name == "context":
        return _scaled(_logs(model.context_length for model in models))
    if name == "output_length":
        return _scaled(_logs(model.max_output_tokens for model in models))
    if name == "features":
        preferred = frozenset(spec.preferred)
        share = 1 / len(preferred) if preferred else 0.0
        # Most models share one of a few feature lists: each list's value is worked out once.
        values: dict[tuple[str, ...] | None, float] = {}
        for features in {model.features for model in models}:
            values[features] = len(preferred.intersection(features or ())) * share
        return [values[model.features] for model in models]
    hints = spec.name_hints
    return [1.0 if any(hint in model.id.lower() for hint in hints) else 0.0 for model in models]


@dataclass(frozen=True)
class _Ranked:
    """One of the best models of a ranking, with what its explanation needs."""

    position: int
    score: float
    values: tuple[float, ...]  # per weighted term of the preset, in its order


@dataclass(frozen=True)
class _Ranking:
    """A preset's ranking of one catalog copy under one set of constraints, worked out once per copy;
    it keeps only the few best, as many as a pick may ask for."""

    best: tuple[_Ranked, ...]
    match: Eligible

    @classmethod
    def of(cls, spec: PresetSpec, snapshot: CatalogSnapshot, constraints: ModelFilter) -> _Ranking:
        match = eligible(snapshot, constraints)
        positions = match.positions
        models = [snapshot.models[position] for position in positions]
        weights = _weights(spec)
        columns = [_column(name, spec, models, positions, len(snapshot.models)) for name, _ in weights]
        scores = [0.0] * len(positions)
        for (_, weight), column in zip(weights, columns, strict=True):
            scores = [score + weight * value for score, value in zip(scores, column, strict=True)]
        losses = [-score for score in scores]
        # nsmallest keeps the input order among equals, and positions ascend, so equal scores rank in
        # catalog order: equal inputs, equal ranking.
        best = heapq.nsmallest(MAX_PICKS, range(len(positions)), key=losses.__getitem__)
        return cls(
            best=tuple(
                _Ranked(positions[i], scores[i], tuple(column[i] for column in columns)) for i in best
            ),
            match=match,
        )


def _weights(spec: PresetSpec) -> list[tuple[Term, float]]:
    return [(name, weight) for name, weight in spec.weights.items() if weight]


def _explain(spec: PresetSpec, snapshot: CatalogSnapshot, rank: int, ranked: _Ranked) -> ModelPick:
    model = snapshot.models[ranked.position]
    terms = [
        ScoreTerm(name=name, weight=weight, value=round(value, 4), contribution=round(weight * value, 4))
        for (name, weight), value in zip(_weights(spec), ranked.values, strict=True)
    ]
    ordered = sorted((term for term in terms if term.contribution > 0), key=lambda term: -term.contribution)
    reasons = [
        f"{_describe(term.name, spec, model, ranked.position, len(snapshot.models))} (+{term.contribution:.2f})"
        for term in ordered
    ]
    if model.tee:
        reasons.insert(0, "runs in a TEE (confidential_compute)")
    return ModelPick(
        rank=rank,
        id=model.id,
        score=round(ranked.score, 4),
        tee=model.tee,
        context_length=model.context_length,
        prices=model.prices,
        features=model.features,
        reasons=reasons,
        terms=terms,
    )


def _describe(name: Term, spec: PresetSpec, model: ModelInfo, position: int, size: int) -> str:
    """Words for a term that added to the score (so the value it describes is known)."""
    if name == "popularity":
        return f"#{position + 1} of {size} by use on Chutes"
    if name == "price":
        return f"${model.prices.prompt:g} in / ${model.prices.completion:g} out per 1M tokens"
    if name == "context":
        return f"{model.context_length:,}-token context"
    if name == "output_length":
        return f"answers up to {model.max_output_tokens:,} tokens"
    if name == "features":
        return "supports " + ", ".join(f for f in spec.preferred if model.has_feature(f))
    return "code model by name"
