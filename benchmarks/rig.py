"""What the sections share: the server over stdio and over HTTP with an MCP client on each, the direct
client, all pointed at one upstream (the simulator, or the tap in front of it); and the simulator's
pacing, which is global, so each section sets its own."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.types import CallToolResult

from benchmarks import processes
from benchmarks.direct import DirectClient, direct_client

# A TEE model that does not reason: a reasoning model would stream its thinking first.
MODEL = "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE"
TRANSPORTS = ("stdio", "http")


def chat_args(prompt: str, max_tokens: int) -> dict[str, Any]:
    """`chat`'s arguments for the request the direct client makes with the same prompt and budget."""
    return {"prompt": prompt, "model": MODEL, "max_tokens": max_tokens}


def check(result: CallToolResult) -> CallToolResult:
    if result.is_error:
        raise RuntimeError(f"tool error: {result.content}")
    return result


async def pace(sim_url: str, *, ttft_ms: int, tokens_per_s: int, answer_tokens: int) -> None:
    """Set the simulator's latency model: a wait before the first chunk, then one token every
    1/tokens_per_s, and answers of `answer_tokens` words (one word is one token; 0: 20-60 words).
    Zeros mean no waiting at all."""
    knobs = {"ttft_ms": ttft_ms, "tokens_per_s": tokens_per_s, "answer_tokens": answer_tokens}
    async with httpx2.AsyncClient(timeout=30) as control:
        (await control.patch(f"{sim_url}/_sim/config", json=knobs)).raise_for_status()


@dataclass
class Rig:
    mcp: dict[str, Client]
    """An MCP client on the server per transport, by name ("stdio", "http")."""
    pids: dict[str, int]
    """The server process behind each transport."""
    direct: DirectClient


@asynccontextmanager
async def rig(upstream: str) -> AsyncIterator[Rig]:
    """Everything connected and warmed up: one `chat` through each path first, so the catalog is
    fetched, the lazy imports are done and the upstream connections are open."""
    async with AsyncExitStack() as stack:
        cache_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chutes-bench-")))
        env = processes.server_env(upstream, cache_dir)
        http_server = stack.enter_context(processes.server_http(env))
        earlier = processes.stdio_server_pids()
        stdio = await stack.enter_async_context(Client(processes.server_stdio(env)))
        (stdio_pid,) = processes.stdio_server_pids() - earlier
        http = await stack.enter_async_context(Client(http_server.url))
        direct = await stack.enter_async_context(direct_client(env, MODEL))
        clients = {"stdio": stdio, "http": http}
        for client in clients.values():
            check(await client.call_tool("chat", chat_args("warm up", 4)))
        await direct.call("warm up", 4)
        yield Rig(clients, {"stdio": stdio_pid, "http": http_server.pid}, direct)
