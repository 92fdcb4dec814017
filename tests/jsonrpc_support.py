"""JSON-RPC messages as a 2025-era MCP client writes them, for tests that speak the wire themselves."""

from __future__ import annotations

from typing import Any

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
