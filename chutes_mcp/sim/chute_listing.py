"""`GET /chutes/` on the api host: the chutes a caller may see, most invoked first (reference §8).

chutes-api's `list_chutes`: credentials are optional (anonymous callers see the public chutes); with
them, `include_public=true` adds the public chutes to the caller's own. Filters `template` (a
`standard_template`, or `other` for none), `name` (substring, any case), `exclude`, `slug`; paging by
`page` (0-100) or `offset` (0-5000, not both) and `limit` (1-5000, default 25). Each item is a
`ChuteResponse` whose `cords` are replaced by a `cord_ref_id` into the body's `cord_refs`. This is how
integrations find embedding chutes, which `/v1/models` never lists (reference §4).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chutes_mcp.sim.catalog import EmbeddingModel, chute_id_for, chute_slug
from chutes_mcp.sim.invocation import signed_in, sim_state
from chutes_mcp.sim.responses import detail

# chutes-api's bounds on the paging parameters (FastAPI answers 422 outside them).
_BOUNDS = {"page": (0, 100), "limit": (1, 5000), "offset": (0, 5000)}
_DEFAULTS = {"page": 0, "limit": 25, "offset": 0}
_CREATED = datetime(2025, 6, 1, tzinfo=UTC).isoformat()
_CHUTES_USER = {
    "user_id": "dff3e6bb-3a6b-5a2b-9c33-3d8b5dcb4f3a",
    "username": "chutes",
    "logo_id": None,
    "created_at": _CREATED,
    "logo": None,
}

_EMBEDDING_CORDS = [
    {"method": "POST", "path": "/v1/embeddings", "public_api_path": "/v1/embeddings", "stream": False},
    {"method": "GET", "path": "/v1/models", "public_api_path": "/v1/models", "stream": False},
]
_VLLM_CORDS = [
    {
        "method": "POST",
        "path": "/v1/chat/completions",
        "public_api_path": "/v1/chat/completions",
        "stream": True,
    },
    {"method": "POST", "path": "/v1/completions", "public_api_path": "/v1/completions", "stream": True},
    {"method": "GET", "path": "/v1/models", "public_api_path": "/v1/models", "stream": False},
]


def _integer(name: str, raw: str | None) -> int | dict[str, Any]:
    """The parameter's value, or FastAPI's 422 error entry for it."""
    if raw is None:
        return _DEFAULTS[name]
    low, high = _BOUNDS[name]
    try:
        value = int(raw)
    except ValueError:
        return {
            "type": "int_parsing",
            "loc": ["query", name],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": raw,
        }
    if value < low:
        return {
            "type": "greater_than_equal",
            "loc": ["query", name],
            "msg": f"Input should be greater than or equal to {low}",
            "input": raw,
            "ctx": {"ge": low},
        }
    if value > high:
        return {
            "type": "less_than_equal",
            "loc": ["query", name],
            "msg": f"Input should be less than or equal to {high}",
            "input": raw,
            "ctx": {"le": high},
        }
    return value


Cords = list[dict[str, Any]]


def _item(
    name: str, template: str, tee: bool, invocations: int, cords: Cords
) -> tuple[dict[str, Any], Cords]:
    """A `ChuteResponse` as the listing shows it, and the cords its `cord_ref_id` stands for."""
    cord_ref_id = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{template}:{len(cords)}"))
    return {
        "chute_id": chute_id_for(name),
        "name": name,
        "tagline": f"{name} on Chutes",
        "readme": f"# {name}",
        "public": True,
        "version": str(uuid.uuid5(uuid.NAMESPACE_OID, f"version:{name}")),
        "tool_description": None,
        "slug": chute_slug(name),
        "standard_template": template,
        "cords": None,
        "jobs": [],
        "cord_ref_id": cord_ref_id,
        "created_at": _CREATED,
        "updated_at": _CREATED,
        "image": {"image_id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"image:{template}")), "name": template},
        "user": _CHUTES_USER,
        "supported_gpus": ["h100", "h200"] if tee else ["a100", "h100", "l40s"],
        "node_selector": {"gpu_count": 1, "min_vram_gb_per_gpu": 24},
        "invocation_count": invocations,
        "current_estimated_price": {},
        "instances": [],
        "logo_id": None,
        "openrouter": False,
        "chutes_version": "0.3.61",
        "revision": None,
        "concurrency": 32,
        "boost": None,
        "max_instances": None,
        "scaling_threshold": None,
        "shutdown_after_seconds": None,
        "preemptible": False,
        "allow_external_egress": False,
        "tee": tee,
        "lock_modules": None,
        "effective_compute_multiplier": 1.0,
        "compute_multiplier_factors": {},
        "bounty": None,
        "logo": None,
        "hot": True,
    }, cords


def _all_chutes(
    llm_entries: list[dict[str, Any]], embeddings: list[EmbeddingModel]
) -> list[tuple[dict[str, Any], Cords]]:
    """Every public chute, most invoked first: the LLMs in catalog order, then the embedding chutes."""
    total = len(llm_entries) + len(embeddings)
    items = [
        _item(
            entry["id"], "vllm", bool(entry.get("confidential_compute")), (total - index) * 1000, _VLLM_CORDS
        )
        for index, entry in enumerate(llm_entries)
    ]
    offset = len(llm_entries)
    for index, model in enumerate(embeddings):
        invocations = (total - offset - index) * 1000
        items.append(_item(model.id, model.template, model.tee, invocations, _EMBEDDING_CORDS))
    return items


def _matches(item: dict[str, Any], params: dict[str, str]) -> bool:
    template = params.get("template", "").strip()
    if template == "other" and item["standard_template"] is not None:
        return False
    if template and template != "other" and item["standard_template"] != template:
        return False
    name = params.get("name", "").strip().lower()
    exclude = params.get("exclude", "").strip().lower()
    slug = params.get("slug", "").strip().lower()
    return (
        (not name or name in item["name"].lower())
        and (not exclude or exclude not in item["name"].lower())
        and (not slug or slug == item["slug"])
    )


async def list_chutes(request: Request) -> Response:
    state = sim_state(request)
    if request.headers.get("authorization") is not None:
        principal = signed_in(request, state)
        if isinstance(principal, Response):
            return principal
        # The simulator's users own no chutes: without include_public they see none.
        sees_public = request.query_params.get("include_public", "").lower() in ("true", "1", "yes", "on")
    else:
        sees_public = True
    paging = {name: _integer(name, request.query_params.get(name)) for name in _BOUNDS}
    errors = [value for value in paging.values() if isinstance(value, dict)]
    if errors:
        return JSONResponse({"detail": errors}, status_code=422)
    values = {name: value for name, value in paging.items() if isinstance(value, int)}
    page, limit, offset = values["page"], values["limit"], values["offset"]
    if page and offset:
        return detail(400, "Cannot specify both page and offset, select <= 1 of these.")
    params = dict(request.query_params)
    everything = _all_chutes(state.catalog.entries(), list(state.catalog.embeddings.values()))
    chutes = [(item, cords) for item, cords in everything if _matches(item, params)] if sees_public else []
    start = offset or page * limit
    shown = chutes[start : start + limit]
    cord_refs = {item["cord_ref_id"]: cords for item, cords in shown}
    items = [item for item, _ in shown]
    return JSONResponse(
        {"total": len(chutes), "page": page, "limit": limit, "items": items, "cord_refs": cord_refs}
    )


def routes() -> list[BaseRoute]:
    return [Route("/chutes/", list_chutes, methods=["GET"])]
