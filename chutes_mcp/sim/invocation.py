"""What every inference route checks before it serves: who calls, then whether the chute admits them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from chutes_mcp.sim.billing import over_quota_without_balance
from chutes_mcp.sim.fault_responses import TEE_REFUSAL, quota_exceeded
from chutes_mcp.sim.identity import Account, AuthFailure, Principal, authenticate
from chutes_mcp.sim.responses import detail, nginx_429
from chutes_mcp.sim.state import SimState

NO_PERMISSION = "Token does not have permission for this resource"


def sim_state(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def caller(request: Request, state: SimState) -> tuple[Principal, Account] | Response:
    """The invoking principal and its account, or the refusal the real service sends.

    With no credentials at all the live service answered from its nginx edge (a 429 page), not with
    the app's 401, so that is what a credential-less invocation gets here.
    """
    result = authenticate(request.headers.get("authorization"), state.identity)
    if result is None:
        return nginx_429()
    if isinstance(result, AuthFailure):
        return detail(result.status, result.detail)
    if not result.may_invoke:
        return detail(403, NO_PERMISSION)
    return result, state.identity.account(result.user_id)


def signed_in(request: Request, state: SimState) -> Principal | Response:
    """The app's own check, for routes the edge does not answer first (account routes, GETs)."""
    result = authenticate(request.headers.get("authorization"), state.identity)
    if result is None:
        return detail(401, "Authentication required.")
    if isinstance(result, AuthFailure):
        return detail(result.status, result.detail)
    return result


def admission(request: Request, account: Account, *, tee: bool) -> Response | None:
    """The chute-level refusals of `_invoke`, in its order: `X-TEE-Only`, then quota with no balance."""
    if request.headers.get("x-tee-only", "").lower() == "true" and not tee:
        return detail(426, TEE_REFUSAL)
    if over_quota_without_balance(account):
        return quota_exceeded()
    return None
