"""One set of processes for the MCP sections: the simulator, our server and the floor server, each over
stdio and over HTTP, with their clients connected; plus a plain client for the direct requests."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.types import CallToolResult

from benchmarks import processes
from benchmarks.rpc import DirectChat

# "A short answer": a TEE model that does not reason (a reasoning model would stream ~80 chunks of
# thinking first), and 8 tokens, on both sides of every comparison.
PROMPT = "hi"
MODEL = "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE"
CHAT_ARGS: dict[str, Any] = {"prompt": PROMPT, "model": MODEL, "max_tokens": 8}
LONG_TOKENS = 500
LONG_CHAT_ARGS: dict[str, Any] = {**CHAT_ARGS, "max_tokens": LONG_TOKENS}


@dataclass(frozen=True)
class Plan:
    """How much of everything a run does."""

    quick: bool
    overhead_rounds: int
    relay_rounds: int
    long_rounds: int
    throughput_s: float
    cold_starts: int
    catalog_budget_s: float
    memory_calls: int
    sequential_calls: int

    @classmethod
    def make(cls, quick: bool) -> Plan:
        if quick:
            return cls(True, 150, 30, 20, 1.5, 3, 0.2, 1_000, 200)
        return cls(False, 1_000, 200, 100, 5.0, 30, 1.0, 10_000, 1_000)


def check(result: CallToolResult) -> CallToolResult:
    if result.is_error:
        raise RuntimeError(f"tool error: {result.content}")
    return result


@dataclass
class Rig:
    sim: processes.Spawned
    env: dict[str, str]
    cache_dir: Path
    control: httpx2.AsyncClient
    direct: DirectChat
    direct_long: DirectChat
    ours_stdio: Client
    floor_stdio: Client
    ours_http: processes.Spawned
    floor_http: processes.Spawned
    ours_http_client: Client
    floor_http_client: Client
    model: str

    async def sim_config(self, **knobs: float) -> None:
        (await self.control.patch(f"{self.sim.url}/_sim/config", json=knobs)).raise_for_status()

    async def sim_stats(self) -> dict[str, Any]:
        response = await self.control.get(f"{self.sim.url}/_sim/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats

    def calls(self) -> dict[str, Callable[[], Awaitable[object]]]:
        """The MCP calls the overhead sections compare, by label."""

        async def chat(client: Client) -> object:
            return check(await client.call_tool("chat", CHAT_ARGS))

        async def noop(client: Client) -> object:
            return check(await client.call_tool("noop", {}))

        return {
            "chat stdio": lambda: chat(self.ours_stdio),
            "noop stdio": lambda: noop(self.floor_stdio),
            "chat http": lambda: chat(self.ours_http_client),
            "noop http": lambda: noop(self.floor_http_client),
        }


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    async with AsyncExitStack() as stack:
        cache_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chutes-bench-")))
        sim = stack.enter_context(processes.simulator())
        env = processes.server_env(sim.url, cache_dir)
        ours_http = stack.enter_context(processes.ours_http(env))
        floor_http = stack.enter_context(processes.floor_http(env))
        # A long keep-alive, so the control connection never closes and reopens inside a count.
        control = await stack.enter_async_context(
            httpx2.AsyncClient(timeout=60, limits=httpx2.Limits(keepalive_expiry=3600))
        )
        ours_stdio = await stack.enter_async_context(Client(processes.ours_stdio(env)))
        floor_stdio = await stack.enter_async_context(Client(processes.floor_stdio(env)))
        ours_http_client = await stack.enter_async_context(Client(ours_http.url))
        floor_http_client = await stack.enter_async_context(Client(floor_http.url))
        first = check(await ours_stdio.call_tool("chat", CHAT_ARGS))
        model = str((first.structured_content or {})["model_used"])
        direct_http = await stack.enter_async_context(httpx2.AsyncClient(timeout=60))
        yield Rig(
            sim=sim,
            env=env,
            cache_dir=cache_dir,
            control=control,
            direct=DirectChat(direct_http, sim.url, CHAT_ARGS),
            direct_long=DirectChat(direct_http, sim.url, LONG_CHAT_ARGS),
            ours_stdio=ours_stdio,
            floor_stdio=floor_stdio,
            ours_http=ours_http,
            floor_http=floor_http,
            ours_http_client=ours_http_client,
            floor_http_client=floor_http_client,
            model=model,
        )
