"""Embeddings: the embed host (`embed.chutes.ai`, `model` required) and the handler per-chute hosts share.

Reference §4: the request and response of the vLLM embedding server behind the `embedding` template.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from chutes_mcp.sim import vectors
from chutes_mcp.sim.billing import invoice
from chutes_mcp.sim.catalog import EMBED_REROUTES, EmbeddingModel
from chutes_mcp.sim.faults import FaultKind
from chutes_mcp.sim.identity import Account, Principal
from chutes_mcp.sim.invocation import admission, caller, sim_state
from chutes_mcp.sim.responses import detail
from chutes_mcp.sim.state import SimState

Caller = tuple[Principal, Account]


@dataclass(frozen=True)
class EmbeddingRequest:
    texts: list[str]
    base64: bool
    dimensions: int | None


async def json_body(request: Request, prefix: str) -> dict[str, Any] | Response:
    """The request's JSON object, or chutes-api's 400 (its wording differs between hosts, hence `prefix`)."""
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return detail(400, f"{prefix}{exc}")
    if not isinstance(body, dict):
        return detail(400, f"{prefix}expected a JSON object")
    return body


def engine_rejection(message: str) -> Response:
    """An engine 400 as chutes-api relays it: the engine's error object inside a doubled prefix."""
    engine_body = {
        "object": "error",
        "message": message,
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }
    return detail(400, "Invalid request: Invalid request: " + json.dumps(engine_body))


def resolve(state: SimState, name: str, user_id: str) -> EmbeddingModel | None:
    """The embed host's lookup: a chute name or id (after the TEE re-route), else the caller's alias; only
    chutes of the `embedding` template, so a `tei` chute is answered at its own host alone."""
    name = EMBED_REROUTES.get(name, name)
    found = state.catalog.embed_host_embedding(name)
    alias = state.aliases.get(user_id, {}).get(name)
    if found is None and alias is not None:
        found = next(filter(None, map(state.catalog.embed_host_embedding, alias.chute_ids)), None)
    return found


async def _embed_host_target(
    request: Request,
) -> tuple[SimState, Caller, EmbeddingModel, dict[str, Any]] | Response:
    """The embed host's steps before the chute: the caller, the JSON body, then the model it names."""
    state = sim_state(request)
    who = caller(request, state)
    if isinstance(who, Response):
        return who
    body = await json_body(request, "Invalid request JSON: ")
    if isinstance(body, Response):
        return body
    name = body.get("model")
    if not name:
        # chutes-api then looks up the mega host's own placeholder chute, which never exists.
        return detail(404, "No matching chute found!")
    model = resolve(state, str(name), who[0].user_id)
    if model is None:
        return detail(404, f"model not found: {name}")
    return state, who, model, body


async def embed_host_embeddings(request: Request) -> Response:
    target = await _embed_host_target(request)
    if isinstance(target, Response):
        return target
    state, who, model, body = target
    return admission(request, who[1], tee=model.tee) or await serve(request, state, who, model, body)


async def serve(
    request: Request, state: SimState, who: Caller, model: EmbeddingModel, body: dict[str, Any]
) -> Response:
    """Answer an admitted embedding request for `model`; any `model` in the body is not looked at."""
    principal, account = who
    state.stats.record_request("embeddings", model.id, principal.handle)
    fault = await state.take_fault(request, route="embeddings", model=model.id, principal=principal)
    if isinstance(fault, Response):
        return fault
    parsed = parse_request(body, model)
    if isinstance(parsed, str):
        return engine_rejection(parsed)
    # Embedding chutes publish no per-token price, so a call over the quota costs nothing here.
    headers = invoice(account, 0.0)
    payload = response_body(parsed, model, state.options.seed)
    if fault is not None and fault.kind in (FaultKind.MALFORMED, FaultKind.DROP):
        encoded = json.dumps(payload).encode()
        if fault.kind is FaultKind.MALFORMED:
            return Response(encoded[: len(encoded) // 2], media_type="application/json", headers=headers)
        return DroppedResponse(encoded, headers)
    return JSONResponse(payload, headers=headers)


def parse_request(body: dict[str, Any], model: EmbeddingModel) -> EmbeddingRequest | str:
    """The request, or the reason the engine refuses it (token-id inputs are not simulated)."""
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return "input must be a string or a non-empty list of strings"
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        return f"encoding_format must be 'float' or 'base64', got {encoding!r}"
    dimensions = body.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or isinstance(dimensions, bool)):
        return "dimensions must be an integer"
    if dimensions is not None and not 1 <= dimensions <= model.dimension:
        return f"dimensions must be between 1 and {model.dimension} for model {model.id}, got {dimensions}"
    for text in texts:
        tokens = vectors.count_tokens(text)
        if tokens > model.max_model_len:
            return (
                f"This model's maximum context length is {model.max_model_len} tokens. However, you "
                f"requested {tokens} tokens in the input for embedding generation. Please reduce the "
                "length of the input."
            )
    return EmbeddingRequest(texts=texts, base64=encoding == "base64", dimensions=dimensions)


def response_body(request: EmbeddingRequest, model: EmbeddingModel, seed: int) -> dict[str, Any]:
    data = []
    # Seeded by the weights, not the chute: a `-TEE` chute embeds exactly as its plain twin.
    weights = model.id.removesuffix("-TEE")
    for index, text in enumerate(request.texts):
        vector = vectors.embed(text, model=weights, dimension=model.dimension, seed=seed)
        if request.dimensions is not None and request.dimensions < model.dimension:
            vector = vectors.shorten(vector, request.dimensions)
        embedding: list[float] | str = vectors.to_base64(vector) if request.base64 else vector
        data.append({"index": index, "object": "embedding", "embedding": embedding})
    tokens = sum(vectors.count_tokens(text) for text in request.texts)
    return {
        "id": f"embd-{uuid.uuid4().hex}",
        "object": "list",
        "created": int(time.time()),
        "model": model.id,
        "data": data,
        "usage": {
            "prompt_tokens": tokens,
            "total_tokens": tokens,
            "completion_tokens": 0,
            "prompt_tokens_details": None,
        },
    }


class DroppedResponse(Response):
    """Headers and half the body, then the connection goes: uvicorn closes a response left unfinished."""

    def __init__(self, content: bytes, headers: dict[str, str]) -> None:
        super().__init__(content, media_type="application/json", headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send(
            {"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True}
        )


async def embed_host_other(request: Request) -> Response:
    """Any other POST on the embed host: the model resolves, then no cord of the chute has that path."""
    target = await _embed_host_target(request)
    if isinstance(target, Response):
        return target
    _, who, model, _ = target
    return admission(request, who[1], tee=model.tee) or detail(404, "No matching cord found!")


def routes() -> list[BaseRoute]:
    return [
        Route("/v1/embeddings", embed_host_embeddings, methods=["POST"]),
        Route("/{path:path}", embed_host_other, methods=["POST"]),
    ]
