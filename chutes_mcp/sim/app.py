"""The simulator's ASGI application: control routes plus one router per Chutes host."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, Mount, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from chutes_mcp.sim import api, chute_host, control, embed, llm
from chutes_mcp.sim.hosts import HostDispatcher
from chutes_mcp.sim.identity import Principal, authenticate
from chutes_mcp.sim.responses import detail
from chutes_mcp.sim.state import SimState


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    # FastAPI's answer for a path no router knows, which is what chutes-api is.
    await detail(404, "Not Found")(scope, receive, send)


def _router(routes: Sequence[BaseRoute]) -> Router:
    return Router(routes=list(routes), default=_not_found)


class _CallerCount:
    """Counts each request to a Chutes host by its caller (`/_sim/stats` `callers`), whatever route it
    takes and however it ends: a caller is its credential's handle, `anonymous` without one, and
    `rejected` for a credential the simulator refuses."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            principal = authenticate(Headers(scope=scope).get("authorization"), self.state.identity)
            if principal is None:
                caller = "anonymous"
            else:
                caller = principal.handle if isinstance(principal, Principal) else "rejected"
            self.state.stats.record_caller(caller)
        await self.app(scope, receive, send)


def create_app(state: SimState) -> Starlette:
    dispatcher = HostDispatcher(
        llm=_router(llm.routes()),
        embed=_router(embed.routes()),
        api=_router(api.routes()),
        chute=_router(chute_host.routes()),
        is_known_slug=lambda slug: state.catalog.is_known_slug(slug),
    )
    app = Starlette(
        routes=[Mount("/_sim", routes=control.routes()), Mount("", app=_CallerCount(dispatcher, state))]
    )
    app.state.sim = state
    return app
