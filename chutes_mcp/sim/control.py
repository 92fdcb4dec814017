"""`/_sim/*`: script faults, swap the catalog, tune latency and read the stats of a running simulator.

These exist for processes that do not forward our headers (an MCP server between a test and the
simulator, say), so a test can still decide what the next upstream answer is.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chutes_mcp.sim.catalog import entries_from_json
from chutes_mcp.sim.faults import ROUTES, FaultSyntaxError, Scenario, parse_fault
from chutes_mcp.sim.responses import detail
from chutes_mcp.sim.state import SimState

_KNOBS = {"ttft_ms", "tokens_per_s", "answer_tokens", "access_token_ttl_s", "balance_usd", "daily_quota"}


def _state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"the body is not JSON: {exc}") from None


async def stats(request: Request) -> Response:
    return JSONResponse(_state(request).stats.snapshot())


async def reset(request: Request) -> Response:
    _state(request).reset()
    return JSONResponse({"reset": True})


async def scenario(request: Request) -> Response:
    state = _state(request)
    if request.method == "GET":
        return JSONResponse({"pending": state.faults.pending()})
    if request.method == "DELETE":
        state.faults.scenarios.clear()
        return JSONResponse({"pending": []})
    try:
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("faults"), list) or not body["faults"]:
            raise ValueError('expected {"faults": ["429", "ok", ...], "route": "chat", "model": null}')
        route = body.get("route", "any")
        if route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(ROUTES)}")
        model = body.get("model")
        if model is not None and not isinstance(model, str):
            raise ValueError("model must be a string or null")
        caller = body.get("caller")
        if caller is not None and not isinstance(caller, str):
            raise ValueError("caller must be a handle like 'key:0123456789ab' (see /_sim/stats) or null")
        faults = deque(parse_fault(str(token)) for token in body["faults"])
    except (ValueError, FaultSyntaxError) as exc:
        return detail(422, str(exc))
    state.faults.queue(Scenario(faults=faults, route=route, model=model, caller=caller))
    return JSONResponse({"pending": state.faults.pending()}, status_code=201)


async def catalog(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.reset_catalog()
        return JSONResponse({"models": len(state.catalog)})
    try:
        state.replace_catalog(entries_from_json(await _json(request)))
    except ValueError as exc:
        return detail(422, str(exc))
    return JSONResponse({"models": len(state.catalog)})


async def config(request: Request) -> Response:
    state = _state(request)
    if request.method == "PATCH":
        try:
            body = await _json(request)
            if not isinstance(body, dict) or not set(body) <= _KNOBS:
                raise ValueError(f"known settings: {', '.join(sorted(_KNOBS))}")
            for name, value in body.items():
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{name} must be a number >= 0")
        except ValueError as exc:
            return detail(422, str(exc))
        state.configure(**body)
    return JSONResponse(state.knobs())


def routes() -> list[BaseRoute]:
    return [
        Route("/stats", stats, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/scenario", scenario, methods=["GET", "POST", "DELETE"]),
        Route("/catalog", catalog, methods=["PUT", "DELETE"]),
        Route("/config", config, methods=["GET", "PATCH"]),
    ]
