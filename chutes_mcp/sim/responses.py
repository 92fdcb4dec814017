"""Response shapes shared by every simulated host: FastAPI `detail` errors, the nginx page, headers."""

from __future__ import annotations

import uuid
from importlib import resources
from typing import Any

from starlette.responses import JSONResponse, Response

from chutes_mcp.sim.identity import Account

NGINX_429 = resources.files("chutes_mcp.sim").joinpath("data", "chat_completions_no_auth_429_2026-02-18.html")
_NGINX_429_BODY = NGINX_429.read_bytes()
SERVER_HEADERS = {"server": "nginx"}


def detail(status: int, message: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    """FastAPI's error body, `{"detail": str | object}`: Chutes never answers OpenAI's `{"error": ...}`."""
    return JSONResponse(
        {"detail": message}, status_code=status, headers={**SERVER_HEADERS, **(headers or {})}
    )


def nginx_429() -> Response:
    """The edge's rate-limit page, byte for byte as captured (CRLF line ends included)."""
    return Response(_NGINX_429_BODY, status_code=429, media_type="text/html", headers=SERVER_HEADERS)


def invocation_headers(account: Account | None) -> dict[str, str]:
    """Headers of every inference response; the quota figures are the count *before* this request."""
    headers = {**SERVER_HEADERS, "X-Chutes-InvocationID": str(uuid.uuid4()), "X-Chutes-RL-User": "60"}
    if account is not None:
        headers["X-Chutes-Quota-Total"] = str(account.daily_quota)
        headers["X-Chutes-Quota-Used"] = str(account.used_today)
        headers["X-Chutes-Quota-Remaining"] = str(max(account.daily_quota - account.used_today, 0))
    return headers
