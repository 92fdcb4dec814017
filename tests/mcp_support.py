"""Drive a real `chutes-mcp serve` process over stdio with the official MCP client, against the simulator."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

from mcp import Client, StdioServerParameters
from mcp.types import CallToolResult, TextContent
from sim_process import SimProcess

from chutes_mcp.sim.identity import demo_api_key

# The SDK's default negotiation ends on the 2026-07-28 era; `legacy` is the 2025-11-25 handshake that
# most hosts still speak. Every end-to-end test runs in both.
ERAS: tuple[Literal["auto", "legacy"], ...] = ("auto", "legacy")
API_KEY = demo_api_key()
# A TEE model of the snapshot that answers without reasoning first, so a few tokens make an answer.
INSTRUCT_TEE_MODEL = "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE"


def server_env(sim: SimProcess, cache_dir: Path, **extra: str) -> dict[str, str]:
    """A minimal environment, as MCP hosts give their servers, pointed at the simulator."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "SYSTEMROOT") if key in os.environ}
    env.update(
        CHUTES_API_BASE=sim.llm_base,
        CHUTES_EMBED_BASE=sim.embed_base,
        CHUTES_MANAGEMENT_BASE=sim.management_base,
        CHUTES_API_KEY=API_KEY,
        CHUTES_CACHE_DIR=str(cache_dir),
        CHUTES_MAX_RETRIES="1",
    )
    env.update(extra)
    return env


def serve_parameters(env: Mapping[str, str], *args: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "chutes_mcp", "serve", *args], env=dict(env)
    )


@asynccontextmanager
async def mcp_session(
    sim: SimProcess, cache_dir: Path, mode: Literal["auto", "legacy"], *args: str, **env: str
) -> AsyncIterator[Client]:
    async with Client(serve_parameters(server_env(sim, cache_dir, **env), *args), mode=mode) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    return "".join(block.text for block in result.content if isinstance(block, TextContent))


def error_of(result: CallToolResult) -> dict[str, Any]:
    """The JSON object every tool error ends with; asserts the result is an error in the house shape."""
    assert result.is_error, text_of(result)
    text = text_of(result)
    payload: dict[str, Any] = json.loads(text.rsplit("\n", 1)[-1])
    assert text.startswith(f"{payload['code']}: "), text
    assert f"Hint: {payload['hint']}" in text
    return payload
