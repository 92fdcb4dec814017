"""The api host (`api.chutes.ai`): account routes and the "Sign in with Chutes" IdP."""

from starlette.routing import BaseRoute

from chutes_mcp.sim import account, idp


def routes() -> list[BaseRoute]:
    return [*account.routes(), *idp.routes()]
