"""Shared setup for the client's integration tests against the simulator."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx2
from sim_process import SimProcess

from chutes_mcp.chutes.chat.request import ChatRequest
from chutes_mcp.config import Settings

API_KEY = "cpk_" + "0123456789abcdef" * 2 + "." + "fedcba9876543210" * 2 + "." + "K" * 32
MODEL = "Qwen/Qwen3-32B"
CLIENT_ID = "cid_" + "a" * 24


def sim_settings(sim: SimProcess, tmp_path: Path, *, fault: str | None = None, **overrides: Any) -> Settings:
    """Settings that point every base URL at the simulator, with a test-private session and token file."""
    headers = {"X-Sim-Session": uuid.uuid4().hex}
    if fault:
        headers["X-Sim-Fault"] = fault
    values: dict[str, Any] = {
        "api_base": sim.llm_base,
        "embed_base": sim.embed_base,
        "management_base": sim.management_base,
        "api_key": API_KEY,
        "oauth_token": None,
        "client_id": CLIENT_ID,
        "oauth_redirect_uri": "http://127.0.0.1:0/oauth-callback",
        "token_file": tmp_path / "oauth-token.json",
        "rate_limit_rpm": 6000,
        "extra_headers": headers,
        **overrides,
    }
    return Settings(**values)


def hello(**kwargs: Any) -> ChatRequest:
    return ChatRequest(
        **{"model": MODEL, "messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 32, **kwargs}
    )


async def follow_to_redirect(url: str) -> str:
    """Play the user's browser on the simulated IdP: return where it redirects to, without following."""
    async with httpx2.AsyncClient() as browser:
        response = await browser.get(url)
    assert response.status_code in (302, 303, 307), response.text
    return response.headers["location"]
