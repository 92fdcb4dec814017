"""What the catalog tools share: the constraints as the server applies them, and a few words of text."""

from __future__ import annotations

from datetime import datetime

from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.service import CatalogView
from chutes_mcp.server.runtime import Runtime


def catalog_filter(args: ModelFilter, runtime: Runtime, view: CatalogView) -> ModelFilter:
    """The caller's constraints (argument models extend ModelFilter) plus the server's: TEE-only mode,
    and the allow-list, so no tool offers a model that chat would refuse."""
    constraints = {name: getattr(args, name) for name in ModelFilter.model_fields}
    constraints["tee_only"] = args.tee_only or runtime.settings.tee_only
    constraints["exclude"] = (*args.exclude, *runtime.planner.disallowed_ids(view))
    return ModelFilter(**constraints)


def provenance(source: str, fetched_at: datetime, stale: bool) -> str:
    when = fetched_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"catalog {source}, fetched {when}" + (", stale" if stale else "")


def usd(value: float | None) -> str:
    return "?" if value is None else f"${value:g}"
