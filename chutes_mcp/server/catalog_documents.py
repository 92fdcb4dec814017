"""The documents behind the `chutes://` resources (see `resources`), as compact JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from pydantic import TypeAdapter

from chutes_mcp import __version__
from chutes_mcp.chutes.catalog.browse import DEFAULT_COLUMNS, project
from chutes_mcp.chutes.catalog.details import alias_table, model_details
from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.service import eligible
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import ChutesError, ModelNotFoundError
from chutes_mcp.server.runtime import CATALOG_WAIT_S, Runtime

_DOCUMENT = TypeAdapter(Any)


def _json(document: Any) -> str:
    return _DOCUMENT.dump_json(document).decode()


async def catalog_document(runtime: Runtime, *, tee_only: bool) -> str:
    tee_only = tee_only or runtime.settings.tee_only
    view = await runtime.catalog_view()
    columns = [column for column in DEFAULT_COLUMNS if column != "id"]
    passing = eligible(view.snapshot, ModelFilter(tee_only=tee_only)).positions
    models = [project(view.models[position], columns) for position in passing]
    return _json(
        {
            "source": view.source,
            "fetched_at": view.fetched_at,
            "stale": view.stale,
            "count": len(models),
            "fields": ["id", *columns],
            "models": models,
        }
    )


async def embedding_models_document(runtime: Runtime) -> str:
    """The embedding models `embed` knows (TEE ones only in TEE-only mode): bundled, listed by Chutes'
    `/chutes/` and configured; `dimensions` null until a model listed without it has answered once."""
    catalog, copy = await runtime.embeddings.catalog(max_wait_s=CATALOG_WAIT_S)
    models = catalog.models(tee_only=runtime.settings.tee_only)
    return _json(
        {
            "source": copy.origin,
            "fetched_at": copy.fetched_at,
            "stale": not runtime.embeddings.is_fresh(),
            "last_error": runtime.embeddings.last_error,
            "default": runtime.settings.default_embedding_model,
            "count": len(models),
            "models": [
                model.model_dump(include={"id", "dimensions", "tee", "template", "source"})
                for model in models
            ],
        }
    )


async def model_document(runtime: Runtime, model_id: str) -> str:
    view = await runtime.catalog_view()
    try:
        details = model_details(view, runtime.resolver, model_id, tee_only=runtime.settings.tee_only)
    except ModelNotFoundError as exc:
        raise ResourceNotFoundError(f"{exc.code}: {exc.message}. Hint: {exc.hint}") from None
    except ChutesError as exc:
        raise ResourceError(f"{exc.code}: {exc.message}. Hint: {exc.hint}") from None
    return _json(details.model_dump(mode="json"))


async def aliases_document(runtime: Runtime) -> str:
    view = await runtime.catalog_view()
    entries = alias_table(view, runtime.resolver, tee_only=runtime.settings.tee_only)
    return _json({"source": view.source, "fetched_at": view.fetched_at, "aliases": entries})


async def status_document(runtime: Runtime, caller: ChutesClient | None) -> str:
    """The server's state; the limiter and breakers are `caller`'s, the client the reader's calls go
    through (none: the request names no credential of its own where the server wants one)."""
    view = await runtime.catalog_view()
    age_s = (datetime.now(UTC) - view.fetched_at).total_seconds()
    return _json(
        {
            "version": __version__,
            "tee_only": runtime.settings.tee_only,
            "default_model": runtime.settings.default_model,
            "default_embedding_model": runtime.settings.default_embedding_model,
            "catalog": {
                "source": view.source,
                "fetched_at": view.fetched_at,
                "age_s": round(age_s, 1),
                "stale": view.stale,
                "models": len(view.models),
                "last_error": view.last_error,
            },
            "breakers": await caller.breaker_states() if caller is not None else [],
            "limiter": caller.limiter_state() if caller is not None else None,
            "shared_state": runtime.shared_state(),
        }
    )
