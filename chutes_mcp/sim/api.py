"""The api host (`api.chutes.ai`): account routes, the chute listing and the "Sign in with Chutes" IdP."""

from starlette.routing import BaseRoute

from chutes_mcp.sim import account, chute_listing, idp


def routes() -> list[BaseRoute]:
    return [*account.routes(), *chute_listing.routes(), *idp.routes()]
