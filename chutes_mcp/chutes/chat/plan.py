"""Which models a chat call may try, in order: the requested model (or the default), then fallbacks.

Everything here happens before any call: aliases and routing strings are resolved, the allow-list and
TEE-only mode are enforced, and a prompt with images is refused for a model known not to take them.
Catalog-derived lookups are cached per catalog snapshot, so a call does no work proportional to the
catalog unless it asks for `auto` fallbacks on a snapshot not seen before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from chutes_mcp.chutes.catalog.aliases import ModelResolver, Resolution
from chutes_mcp.chutes.catalog.filters import Feature, ModelFilter
from chutes_mcp.chutes.catalog.models import ModelInfo
from chutes_mcp.chutes.catalog.picker import PickRequest, pick_models
from chutes_mcp.chutes.catalog.routing import format_routing_string
from chutes_mcp.chutes.catalog.service import CatalogSnapshot, CatalogView
from chutes_mcp.chutes.errors import BadRequestError, ChutesError, ModelNotAllowedError

AUTO_FALLBACKS = 2
"""Models `auto` adds after the requested one: enough to ride out a cold or saturated chute, few enough
that a call cannot wander across the catalog."""

_PLANS_KEPT = 256
"""Plans remembered per catalog snapshot. Model strings come from callers, so the memory is bounded;
when it fills, it starts over."""

CandidateSource = Literal["requested", "fallback", "auto"]


@dataclass(frozen=True, slots=True)
class ChatNeeds:
    """What the request needs from a model; `auto` fallbacks are picked with these as constraints."""

    images: bool = False
    tools: bool = False
    json_schema: bool = False
    tee_only: bool = False

    def constraints(self, exclude: Sequence[str]) -> ModelFilter:
        features: list[Feature] = []
        if self.tools:
            features.append("tools")
        if self.json_schema:
            features.append("structured_outputs")
        return ModelFilter(
            tee_only=self.tee_only,
            features=tuple(features),
            input_modality="image" if self.images else None,
            exclude=tuple(exclude),
        )


@dataclass(frozen=True, slots=True)
class Candidate:
    model: str
    """The `model` value to send: an id, or a routing string Chutes ranks itself (`a,b:latency`)."""
    info: ModelInfo | None
    """Its catalog entry; for a ranked routing string, the member with the highest output price."""
    source: CandidateSource


@dataclass(frozen=True, slots=True)
class ChatPlan:
    requested: str
    candidates: tuple[Candidate, ...]
    thinking: bool = False
    """`:THINKING` was written: reasoning on, unless the caller said otherwise."""
    notes: tuple[str, ...] = ()


_PlanKey = tuple[str | None, tuple[str, ...] | str | None, ChatNeeds]


@dataclass
class _SnapshotCache:
    snapshot: CatalogSnapshot
    by_id: dict[str, ModelInfo]
    allowed: frozenset[str] | None
    disallowed: tuple[str, ...]
    auto: dict[tuple[ChatNeeds, tuple[str, ...]], tuple[ModelInfo, ...]] = field(default_factory=dict)
    plans: dict[_PlanKey, ChatPlan] = field(default_factory=dict)


class ChatPlanner:
    """Plans chat calls for one server: its resolver, default model, allow-list and TEE mode."""

    def __init__(
        self,
        resolver: ModelResolver,
        *,
        default_model: str,
        allowed_models: Sequence[str] = (),
        fallbacks: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._resolver = resolver
        self._default_model = default_model
        self._allowed_names = tuple(allowed_models)
        # Configured failover lists, keyed by the model as written or by its catalog id, any case.
        self._fallbacks = {name.strip().lower(): tuple(models) for name, models in (fallbacks or {}).items()}
        self._cache: _SnapshotCache | None = None

    def model_info(self, view: CatalogView, model_id: str) -> ModelInfo | None:
        return self._cached(view).by_id.get(model_id)

    def disallowed_ids(self, view: CatalogView) -> tuple[str, ...]:
        """Catalog ids outside CHUTES_ALLOWED_MODELS (none without an allow-list), so listing and
        picking never offer a model that chat would refuse."""
        return self._cached(view).disallowed

    def plan(
        self,
        view: CatalogView,
        model: str | None,
        fallbacks: Sequence[str] | Literal["auto"] | None,
        needs: ChatNeeds,
    ) -> ChatPlan:
        """Raises ModelNotFoundError, ModelNotAllowedError, TeeRequiredError or BadRequestError.

        A plan depends on the catalog snapshot and the arguments alone, so the same call on the same
        snapshot reuses it: resolving a name walks the alias table and the name index (~50 µs).
        """
        cache = self._cached(view)
        key: _PlanKey = (
            model,
            fallbacks if fallbacks is None or isinstance(fallbacks, str) else tuple(fallbacks),
            needs,
        )
        plan = cache.plans.get(key)
        if plan is None:
            plan = self._plan(view, cache, model, fallbacks, needs)
            if len(cache.plans) >= _PLANS_KEPT:
                cache.plans.clear()
            cache.plans[key] = plan
        return plan

    def _plan(
        self,
        view: CatalogView,
        cache: _SnapshotCache,
        model: str | None,
        fallbacks: Sequence[str] | Literal["auto"] | None,
        needs: ChatNeeds,
    ) -> ChatPlan:
        requested = model or self._default_model
        first = self._resolver.resolve(view, requested, tee_only=needs.tee_only)
        candidates = self._candidates(cache, first, "requested", needs)
        notes = [member.note for member in first.members if member.note]
        if fallbacks is None:
            fallbacks = self._configured_fallbacks(requested, first)
        if fallbacks == "auto":
            candidates += self._auto(view, cache, needs, first.model_ids)
        elif fallbacks:
            for name in fallbacks:
                resolution = self._resolver.resolve(view, name, tee_only=needs.tee_only)
                notes += [member.note for member in resolution.members if member.note]
                candidates += self._candidates(cache, resolution, "fallback", needs)
        unique: dict[str, Candidate] = {}
        for candidate in candidates:
            unique.setdefault(candidate.model, candidate)
        return ChatPlan(requested, tuple(unique.values()), thinking=first.thinking, notes=tuple(notes))

    def _configured_fallbacks(self, requested: str, first: Resolution) -> Sequence[str] | None:
        for key in (requested, *first.model_ids):
            configured = self._fallbacks.get(key.lower())
            if configured:
                return configured
        return None

    def _candidates(
        self, cache: _SnapshotCache, resolution: Resolution, source: CandidateSource, needs: ChatNeeds
    ) -> list[Candidate]:
        infos = [cache.by_id.get(member_id) for member_id in resolution.model_ids]
        for member_id, info in zip(resolution.model_ids, infos, strict=True):
            self._check_allowed(cache, member_id)
            if (
                needs.images
                and info is not None
                and info.input_modalities is not None
                and not info.accepts("image")
            ):
                raise BadRequestError(
                    f"{member_id} does not accept images",
                    hint="Use a vision model, e.g. model `chutes-vision`, or pick_model with task vision.",
                )
        if resolution.selector is None:
            return [
                Candidate(model_id, info, source)
                for model_id, info in zip(resolution.model_ids, infos, strict=True)
            ]
        # Chutes ranks these members itself: one candidate, costed at its priciest member.
        known = [info for info in infos if info is not None]
        priciest = max(known, key=lambda info: info.prices.completion or 0.0, default=None)
        model = format_routing_string(resolution.model_ids, resolution.selector, thinking=False)
        return [Candidate(model, priciest, source)]

    def _auto(
        self, view: CatalogView, cache: _SnapshotCache, needs: ChatNeeds, taken: list[str]
    ) -> list[Candidate]:
        key = (needs, tuple(taken))
        picked = cache.auto.get(key)
        if picked is None:
            result = pick_models(view, PickRequest(constraints=needs.constraints(taken), k=10))
            allowed = cache.allowed
            picked = tuple(
                cache.by_id[pick.id]
                for pick in result.picks
                if (allowed is None or pick.id.lower() in allowed) and pick.id in cache.by_id
            )[:AUTO_FALLBACKS]
            cache.auto[key] = picked
        return [Candidate(info.id, info, "auto") for info in picked]

    def _check_allowed(self, cache: _SnapshotCache, model_id: str) -> None:
        if cache.allowed is not None and model_id.lower() not in cache.allowed:
            raise ModelNotAllowedError(
                f"{model_id} is not in this server's allowed models",
                hint=f"Use one of: {', '.join(self._allowed_names)} (CHUTES_ALLOWED_MODELS).",
            )

    def _cached(self, view: CatalogView) -> _SnapshotCache:
        cache = self._cache
        if cache is None or cache.snapshot is not view.snapshot:
            allowed = self._allowed_ids(view)
            cache = self._cache = _SnapshotCache(
                snapshot=view.snapshot,
                by_id={model.id: model for model in view.models},
                allowed=allowed,
                disallowed=()
                if allowed is None
                else tuple(model.id for model in view.models if model.id.lower() not in allowed),
            )
        return cache

    def _allowed_ids(self, view: CatalogView) -> frozenset[str] | None:
        """The allow-list as lower-case catalog ids; an entry that does not resolve still matches its
        own spelling, so a model that joins the catalog later is allowed as written."""
        if not self._allowed_names:
            return None
        ids: set[str] = set()
        for name in self._allowed_names:
            ids.add(name.strip().lower())
            try:
                ids.update(model_id.lower() for model_id in self._resolver.resolve(view, name).model_ids)
            except ChutesError:
                continue
        return frozenset(ids)
