"""Browsing the catalog a page at a time: filter, search, sort, project columns, paginate with a cursor.

Model lists that are too big for the client are a top complaint about LLM-provider servers, so a page is
small and its rows carry only the columns asked for. Everything that depends on the catalog alone (search
keys, sort orders, the id lookup) is computed once per catalog copy, so a page costs one pass over it.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from chutes_mcp.chutes.catalog.filters import CatalogSource, ModelFilter
from chutes_mcp.chutes.catalog.models import ModelInfo
from chutes_mcp.chutes.catalog.service import CatalogSnapshot, CatalogView, eligible
from chutes_mcp.chutes.errors import InvalidCursorError

SortKey = Literal["popularity", "price", "context", "id"]
Column = Literal[
    "id",
    "tee",
    "context_length",
    "max_output_tokens",
    "input_price",
    "output_price",
    "cache_read_price",
    "input_modalities",
    "output_modalities",
    "features",
    "reasoning",
    "quantization",
    "engine",
    "root",
    "chute_id",
]

DEFAULT_COLUMNS: tuple[Column, ...] = (
    "id",
    "tee",
    "context_length",
    "input_price",
    "output_price",
    "features",
)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
SUGGESTIONS = 3

_COLUMNS: Mapping[Column, Callable[[ModelInfo], Any]] = {
    "id": lambda model: model.id,
    "tee": lambda model: model.tee,
    "context_length": lambda model: model.context_length,
    "max_output_tokens": lambda model: model.max_output_tokens,
    "input_price": lambda model: model.prices.prompt,
    "output_price": lambda model: model.prices.completion,
    "cache_read_price": lambda model: model.prices.cache_read,
    "input_modalities": lambda model: model.input_modalities,
    "output_modalities": lambda model: model.output_modalities,
    "features": lambda model: model.features,
    "reasoning": lambda model: model.reasoning,
    "quantization": lambda model: model.quantization,
    "engine": lambda model: model.engine,
    "root": lambda model: model.root,
    "chute_id": lambda model: model.chute_id,
}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def search_key(text: str) -> str:
    """Lowercase letters and digits only, so `glm4.7`, `GLM-4.7` and `glm 4 7` meet."""
    return _NOT_ALNUM.sub("", text.lower())


@dataclass(frozen=True)
class CatalogIndex:
    """What every page of one catalog copy needs, computed once for that copy."""

    keys: tuple[str, ...]
    by_id: Mapping[str, ModelInfo]
    ranks: Mapping[SortKey, tuple[int, ...]]  # ranks[sort][position]: the model's place in that order


def _price_key(model: ModelInfo) -> tuple[bool, float]:
    prompt, completion = model.prices.prompt, model.prices.completion
    if prompt is None or completion is None:
        return (True, 0.0)  # unknown prices sort last
    return (False, (prompt + completion) / 2)


def _ranks(models: Sequence[ModelInfo], key: Callable[[int], Any]) -> tuple[int, ...]:
    ranks = [0] * len(models)
    for rank, position in enumerate(sorted(range(len(models)), key=key)):
        ranks[position] = rank
    return tuple(ranks)


def catalog_index(snapshot: CatalogSnapshot) -> CatalogIndex:
    """The copy's search keys, ids and sort orders, built once per copy."""

    def build() -> CatalogIndex:
        models = snapshot.models
        return CatalogIndex(
            keys=tuple(search_key(model.id) for model in models),
            by_id={model.id: model for model in models},
            ranks={
                "popularity": tuple(range(len(models))),
                "price": _ranks(models, lambda p: (*_price_key(models[p]), p)),
                "context": _ranks(models, lambda p: (-(models[p].context_length or 0), p)),
                "id": _ranks(models, lambda p: (models[p].id.lower(), p)),
            },
        )

    return snapshot.memo(("index",), build)


class ModelPage(BaseModel):
    """One page of catalog models with the columns asked for."""

    total: int = Field(description="Models matching the filters and query, over all pages.")
    offset: int = Field(description="Position of this page's first row among them.")
    models: list[dict[str, Any]] = Field(
        description="Rows, one per model, with the requested columns only; null means the catalog does not say."
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    sort: SortKey = Field(description="The order of the rows.")
    fields: list[Column] = Field(description="The columns of each row.")
    suggestions: list[str] = Field(
        description="When the query matched nothing: the closest model ids that pass the filters."
    )
    source: CatalogSource = Field(description="Where the catalog came from: live, cache, disk or bundled.")
    fetched_at: datetime = Field(description="When that copy of the catalog was fetched from Chutes.")
    stale: bool = Field(description="True when the copy is older than the cache TTL or not from Chutes now.")


def project(model: ModelInfo, columns: Sequence[Column]) -> dict[str, Any]:
    """The row of `model` with `columns` only (`id` always, first)."""
    row: dict[str, Any] = {"id": model.id}
    for column in columns:
        value = _COLUMNS[column](model)
        row[column] = list(value) if isinstance(value, tuple) else value
    return row


def browse_models(
    view: CatalogView,
    model_filter: ModelFilter,
    *,
    query: str | None = None,
    sort: SortKey = "popularity",
    columns: Sequence[Column] = DEFAULT_COLUMNS,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> ModelPage:
    """A page of the models passing `model_filter` whose id matches every word of `query`.

    Raises InvalidCursorError when `cursor` was not issued for this filter, query and sort, or when the
    models they list have changed since.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT}, got {limit}")
    index = catalog_index(view.snapshot)
    passing = eligible(view.snapshot, model_filter).positions
    terms = [key for key in map(search_key, (query or "").split()) if key]
    matching = [p for p in passing if all(term in index.keys[p] for term in terms)]
    rank = index.ranks[sort]
    matching.sort(key=rank.__getitem__)
    query_stamp = _query_stamp(model_filter, terms, sort)
    catalog_stamp = view.snapshot.memo(("listing", query_stamp), lambda: _listing_stamp(view, matching))
    offset = 0 if cursor is None else _read_cursor(cursor, query_stamp, catalog_stamp, len(matching))
    end = offset + limit
    wanted = [column for column in dict.fromkeys(columns) if column != "id"]
    return ModelPage(
        total=len(matching),
        offset=offset,
        models=[project(view.models[p], wanted) for p in matching[offset:end]],
        next_cursor=_write_cursor(end, query_stamp, catalog_stamp) if end < len(matching) else None,
        sort=sort,
        fields=["id", *wanted],
        suggestions=_suggest(view, index, passing, " ".join(terms)) if terms and not matching else [],
        source=view.source,
        fetched_at=view.fetched_at,
        stale=view.stale,
    )


def _suggest(view: CatalogView, index: CatalogIndex, passing: Sequence[int], term: str) -> list[str]:
    pool = {index.keys[p]: view.models[p].id for p in passing}
    return [pool[key] for key in difflib.get_close_matches(term, pool, n=SUGGESTIONS, cutoff=0.0)]


# A cursor is opaque to callers; inside it carries the offset and what it is valid for, so a cursor from
# another query, or from before the listed models changed, is refused instead of silently skipping
# models. What it is valid for is the listing's content (which models, in which order), not when the
# catalog was fetched: a cursor survives a refresh that changed nothing it lists, and works in another
# process that fetched the same catalog.


def _query_stamp(model_filter: ModelFilter, terms: list[str], sort: SortKey) -> str:
    described = json.dumps([model_filter.model_dump(mode="json"), terms, sort], sort_keys=True)
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def _listing_stamp(view: CatalogView, matching: Sequence[int]) -> str:
    ids = "\n".join(view.models[position].id for position in matching)
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


def _write_cursor(offset: int, query_stamp: str, catalog_stamp: str) -> str:
    raw = json.dumps({"o": offset, "q": query_stamp, "c": catalog_stamp}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str, query_stamp: str, catalog_stamp: str, total: int) -> int:
    try:
        padded = cursor.strip() + "=" * (-len(cursor.strip()) % 4)
        content = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset, cursor_query, cursor_catalog = content["o"], content["q"], content["c"]
    except (binascii.Error, ValueError, TypeError, KeyError, RecursionError):
        raise InvalidCursorError(f"{cursor[:40]!r} is not a cursor that list_models returned") from None
    if cursor_query != query_stamp:
        raise InvalidCursorError(
            "the cursor belongs to another listing (the filters, query or sort differ)",
            hint="Repeat the call that returned the cursor with the same filters, query and sort, or "
            "leave `cursor` out to start from the first page.",
        )
    if cursor_catalog != catalog_stamp:
        raise InvalidCursorError(
            "the models this listing holds changed since the cursor was issued, so its pages moved",
            hint="Leave `cursor` out to list from the first page of the current catalog.",
        )
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset < total:
        raise InvalidCursorError(f"{cursor[:40]!r} is not a cursor that list_models returned")
    return offset


def complete_ids(view: CatalogView, typed: str, *, tee_only: bool) -> list[str]:
    """Model ids for an argument being typed: ids, then names without the org, that start with it, then
    ids that contain it (any case, punctuation ignored); catalog order within each group."""
    index = catalog_index(view.snapshot)
    lowered, key = typed.strip().lower(), search_key(typed)
    groups: tuple[list[str], list[str], list[str]] = ([], [], [])
    for position, model in enumerate(view.models):
        if tee_only and model.tee is not True:
            continue
        model_id = model.id.lower()
        if model_id.startswith(lowered):
            groups[0].append(model.id)
        elif model_id.rsplit("/", 1)[-1].startswith(lowered):
            groups[1].append(model.id)
        elif key in index.keys[position]:
            groups[2].append(model.id)
    return [*groups[0], *groups[1], *groups[2]]
