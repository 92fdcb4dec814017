"""`list_models`: the Chutes LLM catalog a small page at a time, filtered, searched and sorted."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from chutes_mcp.chutes.catalog.browse import (
    DEFAULT_COLUMNS,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Column,
    ModelPage,
    SortKey,
    browse_models,
)
from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.toolkit import READ_ONLY, Reply, ToolArguments, ToolContext, ToolSpec
from chutes_mcp.server.tools.catalog_support import catalog_filter, provenance


class ListModelsArgs(ToolArguments, ModelFilter):
    """The pick constraints, plus search, order, columns and paging."""

    query: str | None = Field(
        None,
        max_length=200,
        description="Words that must all appear in the model id, e.g. `qwen 235b`; any case, punctuation "
        "ignored.",
    )
    sort: SortKey = Field(
        "popularity",
        description="popularity (most used on Chutes first), price (cheapest mean of input and output "
        "price first), context (largest first) or id (alphabetical).",
    )
    fields: list[Column] = Field(
        default_factory=lambda: list(DEFAULT_COLUMNS),
        description="Columns of each row (`id` is always there). Prices are USD per 1M tokens.",
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page.")
    cursor: str | None = Field(
        None, max_length=1000, description="`next_cursor` of the previous page, to get the page after it."
    )


def _cell(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _text(page: ModelPage) -> str:
    where = provenance(page.source, page.fetched_at, page.stale)
    if not page.models:
        closest = f" Closest ids: {', '.join(page.suggestions)}." if page.suggestions else ""
        return f"No model matches ({where}).{closest}"
    first, last = page.offset + 1, page.offset + len(page.models)
    lines = [f"Models {first}-{last} of {page.total}, by {page.sort} ({where}):"]
    columns = [column for column in page.fields if column != "id"]
    for row in page.models:
        lines.append(f"- {row['id']}: " + "; ".join(f"{c} {_cell(row[c])}" for c in columns))
    if page.next_cursor:
        lines.append(f'More: call again with cursor "{page.next_cursor}".')
    return "\n".join(lines)


async def list_models(runtime: Runtime, args: ListModelsArgs, ctx: ToolContext) -> Reply[ModelPage]:
    view = await runtime.catalog_view()
    page = browse_models(
        view,
        catalog_filter(args, runtime, view),
        query=args.query,
        sort=args.sort,
        columns=args.fields,
        limit=args.limit,
        cursor=args.cursor,
    )
    return Reply(page, _text(page))


SPEC = ToolSpec(
    name="list_models",
    title="List Chutes models",
    description="Browse the Chutes LLM catalog in small pages: filter (TEE, features, input modality, "
    "context, prices), search ids, sort, choose columns, and follow `next_cursor` for more. "
    "Use get_model for everything about one model, pick_model for a recommendation.",
    args=ListModelsArgs,
    output=ModelPage,
    annotations=READ_ONLY,
    body=list_models,
)
