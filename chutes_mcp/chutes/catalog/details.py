"""One model in full, the alias table as it resolves today, and a model of another family for a second look."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, Field

from chutes_mcp.chutes.catalog.aliases import ModelResolver
from chutes_mcp.chutes.catalog.browse import catalog_index
from chutes_mcp.chutes.catalog.filters import CatalogSource, ModelFilter
from chutes_mcp.chutes.catalog.models import ModelInfo
from chutes_mcp.chutes.catalog.naming import short_name
from chutes_mcp.chutes.catalog.picker import ModelPick, PickRequest, pick_models
from chutes_mcp.chutes.catalog.service import CatalogView
from chutes_mcp.chutes.errors import BadRequestError, ChutesError

# Enough candidates that one of another family is almost always among them.
_SECOND_OPINION_POOL = 10
_LEADING_WORD = re.compile(r"[a-z]+")


class AliasEntry(BaseModel):
    name: str = Field(description="The alias, usable wherever a model is asked for.")
    target: str = Field(description="What it is configured to point to.")
    resolves_to: list[str] = Field(description="The catalog model ids it resolves to now (empty if none).")
    note: str | None = Field(description="A fallback taken, or why it does not resolve.")


class ModelDetails(BaseModel):
    """Everything the catalog says about one model, and the names that lead to it."""

    model: ModelInfo = Field(description="The catalog entry.")
    aliases: list[str] = Field(description="Aliases that resolve to this model.")
    requested: str = Field(description="The name as given.")
    via: list[str] = Field(
        description="How the name was read (e.g. exact, org_omitted, tee_twin, alias:<name>)."
    )
    note: str | None = Field(
        None, description="Anything to know about the resolution, e.g. an alias fallback."
    )
    source: CatalogSource = Field(description="Where the catalog came from: live, cache, disk or bundled.")
    fetched_at: datetime = Field(description="When that copy of the catalog was fetched.")
    stale: bool = Field(description="True when the copy is older than the cache TTL or not from Chutes now.")


def alias_table(view: CatalogView, resolver: ModelResolver, *, tee_only: bool) -> list[AliasEntry]:
    entries = []
    for name, target in resolver.aliases().items():
        try:
            resolution = resolver.resolve(view, name, tee_only=tee_only)
        except ChutesError as exc:
            entries.append(AliasEntry(name=name, target=target, resolves_to=[], note=exc.message))
            continue
        notes = [member.note for member in resolution.members if member.note]
        entries.append(
            AliasEntry(
                name=name, target=target, resolves_to=resolution.model_ids, note="; ".join(notes) or None
            )
        )
    return entries


def model_details(view: CatalogView, resolver: ModelResolver, name: str, *, tee_only: bool) -> ModelDetails:
    """Resolve `name` (any form the resolver accepts) to one model; raises the resolver's errors."""
    resolution = resolver.resolve(view, name, tee_only=tee_only)
    if len(resolution.members) != 1:
        raise BadRequestError(
            f"{name!r} names {len(resolution.members)} models: {', '.join(resolution.model_ids)}",
            hint="Ask for one model at a time.",
        )
    member = resolution.members[0]
    aliases = [
        entry.name
        for entry in alias_table(view, resolver, tee_only=tee_only)
        if member.id in entry.resolves_to
    ]
    return ModelDetails(
        model=catalog_index(view.snapshot).by_id[member.id],
        aliases=aliases,
        requested=name,
        via=member.via,
        note=member.note,
        source=view.source,
        fetched_at=view.fetched_at,
        stale=view.stale,
    )


def family(model_id: str) -> tuple[str, str]:
    """(org, leading word of the name): `deepseek-ai/DeepSeek-V3.2-TEE` -> ("deepseek-ai", "deepseek")."""
    lowered = model_id.lower()
    org = lowered.rsplit("/", 1)[0] if "/" in lowered else ""
    word = _LEADING_WORD.match(short_name(lowered))
    return org, word.group(0) if word else short_name(lowered)


def same_family(first: str, second: str) -> bool:
    """Shared org or shared leading name word: either is enough to expect the same blind spots."""
    (org_a, word_a), (org_b, word_b) = family(first), family(second)
    return (bool(org_a) and org_a == org_b) or word_a == word_b


def second_opinion_pick(view: CatalogView, first_model: str, *, tee_only: bool) -> ModelPick | None:
    """The best general pick of another family than `first_model`, or None when there is none."""
    result = pick_models(
        view,
        PickRequest(task="general", constraints=ModelFilter(tee_only=tee_only), k=_SECOND_OPINION_POOL),
    )
    return next((pick for pick in result.picks if not same_family(pick.id, first_model)), None)
