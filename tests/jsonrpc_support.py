"""JSON-RPC messages as a 2025-era MCP client writes them, for tests that speak the wire themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2

# What a streamable HTTP POST carries (plus `mcp-protocol-version` after the handshake).
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def request(request_id: int | str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": method,
        **({"params": params} if params is not None else {}),
    }


def notification(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})}


def initialize(version: str = "2025-11-25", request_id: int = 1) -> dict[str, Any]:
    return request(
        request_id,
        "initialize",
        {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    )


def cancelled(request_id: int | str) -> dict[str, Any]:
    return notification("notifications/cancelled", {"requestId": request_id, "reason": "user"})


@asynccontextmanager
async def handshake(http: httpx2.AsyncClient, url: str, version: str) -> AsyncIterator[dict[str, str]]:
    """Initialize over streamable HTTP as a 2025-era client; yields the headers every later request
    carries."""
    answer = await http.post(url, json=initialize(version), headers=MCP_HEADERS)
    assert answer.status_code == 200, answer.text
    session_id = answer.headers.get("mcp-session-id")
    assert session_id, "a 2025-era client gets a session id to send back"
    headers = {**MCP_HEADERS, "mcp-protocol-version": version, "mcp-session-id": session_id}
    initialized = await http.post(url, json=INITIALIZED, headers=headers)
    assert initialized.status_code == 202
    yield headers
