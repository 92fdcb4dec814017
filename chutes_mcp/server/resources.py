"""MCP resources: the catalog, one model, the aliases and the server's status, as compact JSON.

The same data is available through tools (list_models, get_model) for clients without resources.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from pydantic_core import to_json

from chutes_mcp import __version__
from chutes_mcp.chutes import ChutesError, ModelFilter, ModelNotFoundError
from chutes_mcp.chutes.browse import DEFAULT_COLUMNS, project
from chutes_mcp.chutes.details import alias_table, model_details
from chutes_mcp.chutes.listing import filter_models
from chutes_mcp.server.runtime import Runtime, RuntimeSlot

MODELS_URI = "chutes://models"
TEE_MODELS_URI = "chutes://models/tee"
ALIASES_URI = "chutes://aliases"
STATUS_URI = "chutes://status"
# Reserved expansion: model ids contain `/`, and `chutes://models/zai-org/GLM-4.7-TEE` should just work.
MODEL_TEMPLATE = "chutes://models/{+model_id}"
JSON = "application/json"


def _json(document: Any) -> str:
    return to_json(document).decode()


async def _catalog(runtime: Runtime, *, tee_only: bool) -> str:
    tee_only = tee_only or runtime.settings.tee_only
    view = await runtime.catalog_view()
    columns = [column for column in DEFAULT_COLUMNS if column != "id"]
    models = [project(model, columns) for model in filter_models(view.models, ModelFilter(tee_only=tee_only))]
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


async def _model(runtime: Runtime, model_id: str) -> str:
    view = await runtime.catalog_view()
    try:
        details = model_details(view, runtime.resolver, model_id, tee_only=runtime.settings.tee_only)
    except ModelNotFoundError as exc:
        raise ResourceNotFoundError(f"{exc.code}: {exc.message}. Hint: {exc.hint}") from None
    except ChutesError as exc:
        raise ResourceError(f"{exc.code}: {exc.message}. Hint: {exc.hint}") from None
    return _json(details.model_dump(mode="json"))


async def _aliases(runtime: Runtime) -> str:
    view = await runtime.catalog_view()
    entries = alias_table(view, runtime.resolver, tee_only=runtime.settings.tee_only)
    return _json({"source": view.source, "fetched_at": view.fetched_at, "aliases": entries})


async def _status(runtime: Runtime) -> str:
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
            "breakers": runtime.client.breaker_states(),
            "limiter": runtime.client.limiter_state(),
        }
    )


Reader = Callable[[Runtime], Awaitable[str]]

# uri, name, title, description, reader
STATIC: tuple[tuple[str, str, str, str, Reader], ...] = (
    (
        MODELS_URI,
        "models",
        "Chutes models",
        "Every LLM in the catalog, most used first (TEE models only when the server is TEE-only): id, "
        "TEE, context, USD per 1M input and output tokens, features.",
        lambda runtime: _catalog(runtime, tee_only=False),
    ),
    (
        TEE_MODELS_URI,
        "tee_models",
        "Chutes TEE models",
        "The models running in a Trusted Execution Environment (confidential compute).",
        lambda runtime: _catalog(runtime, tee_only=True),
    ),
    (
        ALIASES_URI,
        "aliases",
        "Model aliases",
        "Built-in and configured aliases, their targets, and the models they resolve to now.",
        _aliases,
    ),
    (
        STATUS_URI,
        "status",
        "Server status",
        "Version, TEE-only mode, catalog source and age, circuit breakers and rate limiter.",
        _status,
    ),
)


def _add_static(
    server: MCPServer[Runtime], slot: RuntimeSlot, entry: tuple[str, str, str, str, Reader]
) -> None:
    uri, name, title, description, read = entry

    async def handler() -> str:
        return await read(slot.runtime)

    server.resource(uri, name=name, title=title, description=description, mime_type=JSON)(handler)


def register_resources(server: MCPServer[Runtime], slot: RuntimeSlot) -> None:
    for entry in STATIC:
        _add_static(server, slot, entry)

    @server.resource(
        MODEL_TEMPLATE,
        name="model",
        title="One Chutes model",
        description="Everything the catalog says about one model and the aliases that point to it; "
        "`model_id` is an id like zai-org/GLM-4.7-TEE, an alias or a short name.",
        mime_type=JSON,
    )
    async def model(model_id: str) -> str:
        return await _model(slot.runtime, model_id)
