"""The api host's account routes (reference §8): the caller's profile, quota, and model aliases."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from chutes_mcp.sim.identity import Account, Principal
from chutes_mcp.sim.invocation import signed_in, sim_state
from chutes_mcp.sim.responses import detail
from chutes_mcp.sim.state import SimState, UserAlias

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# The alias column of chutes-api is VARCHAR(64).
ALIAS_MAX_LEN = 64


def _ss58(user_id: str, purpose: str) -> str:
    """A stable stand-in for a Substrate ss58 address: the shape of one, owned by nobody."""
    digest = hashlib.blake2b(f"{purpose}:{user_id}".encode(), digest_size=47).digest()
    return "5" + "".join(_BASE58[byte % 58] for byte in digest)


def _caller(request: Request) -> tuple[SimState, Principal, Account] | Response:
    state = sim_state(request)
    principal = signed_in(request, state)
    if isinstance(principal, Response):
        return principal
    return state, principal, state.identity.account(principal.user_id)


async def me(request: Request) -> Response:
    found = _caller(request)
    if isinstance(found, Response):
        return found
    _, _, account = found
    return JSONResponse(
        {
            "username": account.username,
            "user_id": account.user_id,
            "logo_id": None,
            "logo": None,
            "created_at": account.created_at,
            "hotkey": _ss58(account.user_id, "hotkey"),
            "coldkey": _ss58(account.user_id, "coldkey"),
            "payment_address": _ss58(account.user_id, "payment"),
            "developer_payment_address": _ss58(account.user_id, "developer"),
            "permissions_bitmask": 0,
            "permissions": [],
            "balance": account.balance_usd,
            "netuids": [],
        }
    )


async def quota_usage(request: Request) -> Response:
    """Every simulated account has only the account-wide `*` quota, which any chute id falls back to."""
    found = _caller(request)
    if isinstance(found, Response):
        return found
    _, _, account = found
    return JSONResponse({"quota": account.daily_quota, "used": float(account.used_today)})


async def quotas(request: Request) -> Response:
    found = _caller(request)
    if isinstance(found, Response):
        return found
    _, _, account = found
    row = {
        "user_id": account.user_id,
        "chute_id": "*",
        "quota": account.daily_quota,
        "is_default": True,
        "payment_refresh_date": None,
        "updated_at": None,
    }
    return JSONResponse([row])


async def subscription_usage(request: Request) -> Response:
    found = _caller(request)
    return found if isinstance(found, Response) else JSONResponse({"subscription": False})


def _alias_json(alias: UserAlias) -> dict[str, Any]:
    return {"alias": alias.alias, "chute_ids": list(alias.chute_ids)}


async def list_aliases(request: Request) -> Response:
    found = _caller(request)
    if isinstance(found, Response):
        return found
    state, principal, _ = found
    return JSONResponse([_alias_json(a) for a in state.aliases.get(principal.user_id, {}).values()])


def _invalid(errors: list[dict[str, Any]]) -> Response:
    """FastAPI's 422 for a body that does not fit the route's model."""
    return detail(422, errors)


def _error(kind: str, loc: list[str | int], msg: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": ["body", *loc], "msg": msg, "input": value}


def _alias_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    errors = []
    alias = body.get("alias")
    if "alias" not in body:
        errors.append(_error("missing", ["alias"], "Field required", body))
    elif not isinstance(alias, str):
        errors.append(_error("string_type", ["alias"], "Input should be a valid string", alias))
    elif not alias:
        errors.append(_error("string_too_short", ["alias"], "String should have at least 1 character", alias))
    elif len(alias) > ALIAS_MAX_LEN:
        msg = f"String should have at most {ALIAS_MAX_LEN} characters"
        errors.append(_error("string_too_long", ["alias"], msg, alias))
    ids = body.get("chute_ids")
    if "chute_ids" not in body:
        errors.append(_error("missing", ["chute_ids"], "Field required", body))
    elif not isinstance(ids, list):
        errors.append(_error("list_type", ["chute_ids"], "Input should be a valid list", ids))
    elif not ids:
        msg = "List should have at least 1 item after validation, not 0"
        errors.append(_error("too_short", ["chute_ids"], msg, ids))
    else:
        errors.extend(
            _error("string_type", ["chute_ids", i], "Input should be a valid string", item)
            for i, item in enumerate(ids)
            if not isinstance(item, str)
        )
    return errors


async def create_alias(request: Request) -> Response:
    found = _caller(request)
    if isinstance(found, Response):
        return found
    state, principal, _ = found
    try:
        body = json.loads(await request.body())
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        error = _error("json_invalid", [getattr(exc, "pos", 0)], "JSON decode error", {})
        return _invalid([error | {"ctx": {"error": str(exc)}}])
    if not isinstance(body, dict):
        return _invalid([_error("model_attributes_type", [], "Input should be a valid dictionary", body)])
    errors = _alias_errors(body)
    if errors:
        return _invalid(errors)
    for chute in body["chute_ids"]:
        if state.catalog.chute_id_of(chute) is None:
            return detail(400, f"chute not found: {chute}")
    alias = UserAlias(alias=body["alias"], chute_ids=list(body["chute_ids"]))
    state.aliases.setdefault(principal.user_id, {})[alias.alias] = alias
    return JSONResponse(_alias_json(alias), status_code=201)


async def delete_alias(request: Request) -> Response:
    found = _caller(request)
    if isinstance(found, Response):
        return found
    state, principal, _ = found
    name = request.path_params["alias"].lower()
    aliases = state.aliases.get(principal.user_id, {})
    # chutes-api deletes case-insensitively.
    doomed = [key for key in aliases if key.lower() == name]
    if not doomed:
        return detail(404, "alias not found")
    for key in doomed:
        del aliases[key]
    return Response(status_code=204)


def routes() -> list[BaseRoute]:
    return [
        Route("/users/me", me, methods=["GET"]),
        Route("/users/me/quota_usage/{chute_id}", quota_usage, methods=["GET"]),
        Route("/users/me/quotas", quotas, methods=["GET"]),
        Route("/users/me/subscription_usage", subscription_usage, methods=["GET"]),
        Route("/model_aliases/", list_aliases, methods=["GET"]),
        Route("/model_aliases/", create_alias, methods=["POST"]),
        Route("/model_aliases/{alias}", delete_alias, methods=["DELETE"]),
    ]
