"""Many callers through one HTTP endpoint: the official client on a wide pool, the server's
`chutes://status`, and how the simulator names a credential in its stats."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextResourceContents
from mcp_support import error_of


@asynccontextmanager
async def wide_client(url: str, max_connections: int = 300) -> AsyncIterator[Client]:
    """The official client with a pool wide enough for the bursts these tests send at once."""
    limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=50)
    async with (
        httpx2.AsyncClient(timeout=60, limits=limits) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def status_of(client: Client) -> dict[str, Any]:
    content = (await client.read_resource("chutes://status")).contents[0]
    assert isinstance(content, TextResourceContents)
    document: dict[str, Any] = json.loads(content.text)
    return document


def sim_handle(key: str) -> str:
    """The simulator's name for a credential in its stats: `key:` and the first 12 hex of the key id."""
    return "key:" + key.removeprefix("cpk_")[:12]


def outcome(result: CallToolResult) -> str:
    return error_of(result)["code"] if result.is_error else "ok"


async def concurrent_chats(client: Client, count: int, arguments: dict[str, Any]) -> list[CallToolResult]:
    results: list[CallToolResult] = []

    async def one() -> None:
        results.append(await client.call_tool("chat", arguments))

    async with anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one)
    return results
