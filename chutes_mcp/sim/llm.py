"""The `llm` host: the model list, chat completions, and the 404s of paths it has no cord for."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from chutes_mcp.sim.chat import NO_CORD, chat_completions
from chutes_mcp.sim.identity import AuthFailure, authenticate
from chutes_mcp.sim.invocation import caller, sim_state
from chutes_mcp.sim.plain_delivery import deliver
from chutes_mcp.sim.responses import SERVER_HEADERS, detail


async def list_models(request: Request) -> Response:
    """`GET /v1/models`: open to all, but a bad token is refused before the list (reference §2.1)."""
    state = sim_state(request)
    principal = authenticate(request.headers.get("authorization"), state.identity)
    if isinstance(principal, AuthFailure):
        response: Response = detail(principal.status, principal.detail)
    else:
        outcome = await state.take_fault(request, route="models", model=None, principal=principal)
        if isinstance(outcome, Response):
            response = outcome
        else:
            body = json.dumps(state.catalog.listing(), separators=(",", ":")).encode()
            response = deliver(body, SERVER_HEADERS, outcome)
    handle = principal.handle if principal is not None and not isinstance(principal, AuthFailure) else None
    state.stats.record_request("models", None, handle)
    state.stats.record_status(response.status_code)
    return response


async def embeddings(request: Request) -> Response:
    """The llm host only routes vLLM-template chutes: an embedding model is unknown here, and an LLM
    has no embeddings cord (reference §4)."""
    state = sim_state(request)
    who = caller(request, state)
    if isinstance(who, Response):
        return who
    try:
        model = json.loads(await request.body()).get("model")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        return detail(400, f"Invalid request JSON: {exc}")
    if isinstance(model, str) and state.catalog.get(state.catalog.rewrite(model)) is not None:
        return detail(404, NO_CORD)
    return detail(404, f"model not found: {model}")


async def no_cord(request: Request) -> Response:
    who = caller(request, sim_state(request))
    return who if isinstance(who, Response) else detail(404, NO_CORD)


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/models", list_models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/{path:path}", no_cord, methods=["POST"]),
    ]
