"""The simulator's ASGI application: control routes plus one router per Chutes host."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Router
from starlette.types import Receive, Scope, Send

from chutes_mcp.sim import api, chute_host, control, embed, llm
from chutes_mcp.sim.hosts import HostDispatcher
from chutes_mcp.sim.responses import detail
from chutes_mcp.sim.state import SimState


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    # FastAPI's answer for a path no router knows, which is what chutes-api is.
    await detail(404, "Not Found")(scope, receive, send)


def _router(routes: Sequence[BaseRoute]) -> Router:
    return Router(routes=list(routes), default=_not_found)


def create_app(state: SimState) -> Starlette:
    dispatcher = HostDispatcher(
        llm=_router(llm.routes()),
        embed=_router(embed.routes()),
        api=_router(api.routes()),
        chute=_router(chute_host.routes()),
        is_known_slug=lambda slug: state.catalog.is_known_slug(slug),
    )
    app = Starlette(routes=[Mount("/_sim", routes=control.routes()), Mount("", app=dispatcher)])
    app.state.sim = state
    return app
