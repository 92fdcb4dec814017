"""Per-chute hosts (`<slug>.chutes.ai`): one chute each, its cords only, `model` in the body not needed.

A slug that names no chute is answered at once, 404 `No matching chute found!` (on the real service
such a host never reaches the chute router, so no credentials are asked for). For a known chute,
chutes-api authenticates, applies the chute's admission rules, and only then matches the path to one
of the chute's cords (404 `No matching cord found!`): an LLM chute has no embeddings cord and an
embedding chute no chat cord.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chutes_mcp.sim import chat, embed
from chutes_mcp.sim.catalog import EmbeddingModel
from chutes_mcp.sim.invocation import admission, caller, signed_in, sim_state
from chutes_mcp.sim.responses import detail

NO_CHUTE = "No matching chute found!"
NO_CORD = "No matching cord found!"


def _chute(request: Request) -> dict[str, Any] | EmbeddingModel | None:
    slug: str = request.scope["chute_slug"]
    catalog = sim_state(request).catalog
    return catalog.by_slug(slug) or catalog.embedding_by_slug(slug)


async def embeddings(request: Request) -> Response:
    state = sim_state(request)
    chute = _chute(request)
    if chute is None:
        return detail(404, NO_CHUTE)
    who = caller(request, state)
    if isinstance(who, Response):
        return who
    tee = chute.tee if isinstance(chute, EmbeddingModel) else bool(chute["confidential_compute"])
    refusal = admission(request, who[1], tee=tee)
    if refusal is not None:
        return refusal
    body = await embed.json_body(request, "invalid request JSON payload: ")
    if isinstance(body, Response):
        return body
    if not isinstance(chute, EmbeddingModel):
        return detail(404, NO_CORD)
    return await embed.serve(request, state, who, chute, body)


async def chat_completions(request: Request) -> Response:
    chute = _chute(request)
    if chute is None:
        return detail(404, NO_CHUTE)
    if isinstance(chute, dict):
        # The llm host's handler serves per-chute chat too; it reads the slug from the scope.
        return await chat.chat_completions(request)
    who = caller(request, sim_state(request))
    return who if isinstance(who, Response) else detail(404, NO_CORD)


async def models(request: Request) -> Response:
    """The chute's own engine card list; unlike the llm host's `/v1/models`, only for signed-in callers."""
    chute = _chute(request)
    if chute is None:
        return detail(404, NO_CHUTE)
    principal = signed_in(request, sim_state(request))
    if isinstance(principal, Response):
        return principal
    catalog = sim_state(request).catalog
    if isinstance(chute, EmbeddingModel):
        entry = {
            "id": chute.id,
            "owned_by": "vllm",
            "root": chute.id.removesuffix("-TEE"),
            "max_model_len": chute.max_model_len,
        }
        return JSONResponse({"object": "list", "data": [catalog.engine_card(entry)]})
    return JSONResponse({"object": "list", "data": [catalog.engine_card(chute)]})


async def other(request: Request) -> Response:
    """Every other path: once the caller is known, no cord of the chute matches it."""
    if _chute(request) is None:
        return detail(404, NO_CHUTE)
    state = sim_state(request)
    who = caller(request, state) if request.method == "POST" else signed_in(request, state)
    return who if isinstance(who, Response) else detail(404, NO_CORD)


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/{path:path}", other, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
