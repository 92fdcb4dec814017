"""The direct baseline: the same chat request, made with `ChutesClient.chat_stream` from a process of
its own (`python -m benchmarks.direct`), as a Python program that uses Chutes without MCP would.

The process runs nothing but the client, so its own CPU time is the client's. The bench sends it one
JSON line per batch (`{"prompts": [...], "max_tokens": k, "model": m}`); it makes one call per prompt,
one after another, and answers with one JSON line: per call the start, first-token and end times on
CLOCK_MONOTONIC (`measure.mono_ns`) and the tokens received; and the process CPU time the batch took.
Timing happens inside the process, so the pipe to the bench is never part of a measurement.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import Process
from anyio.streams.buffered import BufferedByteReceiveStream

from benchmarks.measure import mono_ns
from benchmarks.processes import ROOT
from chutes_mcp.chutes.chat.request import ChatRequest
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.types import TextDelta
from chutes_mcp.config import load_settings

_MAX_LINE = 1 << 24


@dataclass(frozen=True)
class DirectCall:
    start_ns: int
    first_token_ns: int
    end_ns: int
    tokens: int
    """Text deltas received: one token each in the simulator."""


@dataclass(frozen=True)
class Batch:
    calls: list[DirectCall]
    cpu_s: float


class DirectClient:
    """The bench's handle on the direct-client process."""

    def __init__(self, process: Process, model: str) -> None:
        self._process = process
        self._model = model
        assert process.stdout is not None
        self._lines = BufferedByteReceiveStream(process.stdout)

    async def batch(self, prompts: list[str], max_tokens: int) -> Batch:
        assert self._process.stdin is not None
        order = {"prompts": prompts, "max_tokens": max_tokens, "model": self._model}
        await self._process.stdin.send(json.dumps(order).encode() + b"\n")
        answer = json.loads(await self._lines.receive_until(b"\n", _MAX_LINE))
        if "error" in answer:
            raise RuntimeError(f"direct client: {answer['error']}")
        return Batch([DirectCall(*call) for call in answer["calls"]], answer["cpu_s"])

    async def call(self, prompt: str, max_tokens: int) -> DirectCall:
        return (await self.batch([prompt], max_tokens)).calls[0]


@asynccontextmanager
async def direct_client(env: Mapping[str, str], model: str) -> AsyncIterator[DirectClient]:
    process = await anyio.open_process(
        [sys.executable, "-m", "benchmarks.direct"], env=dict(env), cwd=ROOT, stderr=None
    )
    async with process:
        try:
            yield DirectClient(process, model)
        finally:
            assert process.stdin is not None
            await process.stdin.aclose()
            with anyio.move_on_after(10):
                await process.wait()
            if process.returncode is None:
                process.kill()


# -- the process ---------------------------------------------------------------------------------


async def _one(client: ChutesClient, request: ChatRequest) -> list[int]:
    start = mono_ns()
    first = tokens = 0
    async for event in client.chat_stream(request):
        if isinstance(event, TextDelta) and event.text:
            if not first:
                first = mono_ns()
            tokens += 1
    end = mono_ns()
    if not first:
        raise RuntimeError("the stream had no text")
    return [start, first, end, tokens]


async def _serve() -> None:
    async with ChutesClient(load_settings()) as client:
        while line := await anyio.to_thread.run_sync(sys.stdin.buffer.readline):
            order: dict[str, Any] = json.loads(line)
            requests = [
                ChatRequest(
                    model=order["model"],
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=order["max_tokens"],
                )
                for prompt in order["prompts"]
            ]
            try:
                cpu_started = time.process_time()
                calls = [await _one(client, request) for request in requests]
                answer: dict[str, Any] = {"calls": calls, "cpu_s": time.process_time() - cpu_started}
            except Exception as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            sys.stdout.buffer.write(json.dumps(answer).encode() + b"\n")
            sys.stdout.buffer.flush()


if __name__ == "__main__":
    anyio.run(_serve)
