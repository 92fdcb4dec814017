"""SIGTERM and SIGINT to `chutes-mcp serve --transport http` while tool calls run: the calls finish
within the grace period, or answer with the `shutdown` error and the text they had streamed; probes and
new requests see the drain. (Over stdio: test_server_stdio.py.)"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
import pytest
from http_support import HttpServer, http_server
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult
from mcp_support import ERAS, INSTRUCT_TEE_MODEL, error_of
from sim_process import SimProcess

pytestmark = pytest.mark.anyio

MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
ACCOUNT_CALL = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "account", "arguments": {}},
}
GUARD_S = 30.0


def slow_sim(sim: SimProcess, **knobs: int) -> None:
    httpx2.patch(f"{sim.url}/_sim/config", json=knobs).raise_for_status()


def chat(**arguments: Any) -> dict[str, Any]:
    return {"prompt": "tell me a story", "model": INSTRUCT_TEE_MODEL, **arguments}


def _wait_until(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


async def wait_for(predicate: Callable[[], object], what: str) -> None:
    """Until `predicate` holds (it may block: it runs in a thread), for `GUARD_S` at most."""
    await anyio.to_thread.run_sync(_wait_until, predicate, what)


def exit_status(server: HttpServer) -> int:
    assert server.process is not None
    return server.process.wait(timeout=GUARD_S)


class Call:
    """One tool call in the background, and what it has streamed so far (from its progress)."""

    def __init__(self, client: Client, arguments: dict[str, Any]) -> None:
        self.client = client
        self.arguments = arguments
        self.result: CallToolResult | None = None
        self.text_seen = anyio.Event()

    async def progress(self, value: float, total: float | None, message: str | None) -> None:
        if message and ": …" in message:
            self.text_seen.set()

    async def run(self) -> None:
        self.result = await self.client.call_tool("chat", self.arguments, progress_callback=self.progress)


async def test_a_call_that_ends_within_the_grace_period_gets_its_result(
    sim: SimProcess, tmp_path: Path
) -> None:
    slow_sim(sim, ttft_ms=2000)
    with http_server(sim, tmp_path, CHUTES_MCP_SHUTDOWN_GRACE_S="60") as server:
        async with (
            httpx2.AsyncClient(timeout=GUARD_S) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
            anyio.create_task_group() as calls,
        ):
            await client.list_tools()  # as hosts do first: a result is then checked without a request
            call = Call(client, chat(max_tokens=16))
            calls.start_soon(call.run)
            await wait_for(lambda: sim.stats()["requests"].get("chat"), "the chat to reach Chutes")
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
        # Bounded well below the grace period: the server leaves as soon as its calls are answered.
        assert exit_status(server) == 0
    assert call.result is not None
    assert call.result.is_error is False, call.result
    assert call.result.structured_content is not None
    assert call.result.structured_content["text"]


async def test_a_draining_server_is_not_ready_and_refuses_new_requests(
    sim: SimProcess, tmp_path: Path
) -> None:
    # A minute of grace and a chat that would take a minute: the drain lasts until a second SIGTERM,
    # which ends the chat at once. Meanwhile new tool calls are sent elsewhere, and the rest is served.
    slow_sim(sim, ttft_ms=60_000)
    with http_server(sim, tmp_path, CHUTES_MCP_SHUTDOWN_GRACE_S="60") as server:
        assert server.process is not None
        async with (
            httpx2.AsyncClient(timeout=GUARD_S) as http,
            Client(streamable_http_client(server.url, http_client=http)) as client,
            anyio.create_task_group() as calls,
        ):
            call = Call(client, chat())
            calls.start_soon(call.run)
            await wait_for(lambda: sim.stats()["requests"].get("chat"), "the chat to reach Chutes")
            server.process.send_signal(signal.SIGTERM)
            async with httpx2.AsyncClient(timeout=GUARD_S) as other:
                await wait_for(
                    lambda: httpx2.get(f"{server.base}/readyz", timeout=GUARD_S).status_code == 503,
                    "/readyz to say the server is draining",
                )
                ready = await other.get(f"{server.base}/readyz")
                health = await other.get(f"{server.base}/healthz")
                pinged = await other.post(server.url, json=PING, headers=MCP_HEADERS)
                refused = await other.post(server.url, json=ACCOUNT_CALL, headers=MCP_HEADERS)
            server.process.send_signal(signal.SIGTERM)
        assert exit_status(server) == 0
    assert ready.json() == {"status": "draining", "calls": 1}
    assert health.status_code == 200
    assert pinged.status_code == 200, pinged.text  # what is no tool call is still served
    assert (refused.status_code, refused.headers["retry-after"]) == (503, "1")
    assert refused.json()["error"]["message"].startswith("The server is shutting down")
    assert call.result is not None
    error = error_of(call.result)
    assert (error["code"], error["retryable"]) == ("shutdown", True)
    assert "partial_text" not in error  # no token had come


@pytest.mark.parametrize("mode", ERAS)
async def test_a_call_past_the_grace_period_answers_with_what_it_had_streamed(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    # A minute-long answer, and two seconds of grace after the first words: the call answers with the
    # `shutdown` error and the words that had come, and Chutes is hung up on.
    slow_sim(sim, tokens_per_s=5, answer_tokens=300)
    with http_server(sim, tmp_path, CHUTES_MCP_SHUTDOWN_GRACE_S="2") as server:
        assert server.process is not None
        async with (
            httpx2.AsyncClient(timeout=GUARD_S) as http,
            Client(streamable_http_client(server.url, http_client=http), mode=mode) as client,
            anyio.create_task_group() as calls,
        ):
            call = Call(client, chat(max_tokens=400))
            calls.start_soon(call.run)
            with anyio.fail_after(GUARD_S):
                await call.text_seen.wait()
            server.process.send_signal(signal.SIGTERM)
        assert exit_status(server) == 0
    assert call.result is not None
    error = error_of(call.result)
    assert (error["code"], error["retryable"]) == ("shutdown", True)
    words = error["partial_text"].split()
    assert 0 < len(words) < 300
    streams = sim.stats()["streams"]
    assert (streams["closed_early"], streams["completed"]) == (1, 0)
