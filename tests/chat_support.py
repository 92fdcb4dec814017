"""Shared pieces of the simulator's chat-completions tests: keys, fixtures and raw SSE parsing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx2
import openai
from sim_process import SimProcess

from chutes_mcp.sim.identity import demo_api_key

API_KEY = demo_api_key()
AUTH = {"Authorization": f"Bearer {API_KEY}"}
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chutes-live-2026-02-18"
SGLANG_MODEL = "Qwen/Qwen3-32B"
VLLM_MODEL = "zai-org/GLM-4.7-TEE"
PLAIN_MODEL = "unsloth/Mistral-Nemo-Instruct-2407"  # SGLang, no reasoning, no TEE
HELLO = [{"role": "user", "content": "Say hello."}]


def session_headers(fault: str | None = None) -> dict[str, str]:
    """A test-private `X-Sim-Session`, so header fault scripts never leak between tests."""
    headers = {**AUTH, "X-Sim-Session": uuid.uuid4().hex}
    if fault is not None:
        headers["X-Sim-Fault"] = fault
    return headers


def sdk(sim: SimProcess, max_retries: int = 0) -> openai.OpenAI:
    """The official client on the simulated llm host; use it as a context manager so it is closed."""
    return openai.OpenAI(base_url=sim.llm_base, api_key=API_KEY, max_retries=max_retries)


def post_chat(
    sim: SimProcess, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx2.Response:
    return httpx2.post(f"{sim.llm_base}/chat/completions", json=body, headers=headers or AUTH, timeout=30)


def sse_events(text: str) -> list[str]:
    """The payloads of the `data:` events; fails on any other line shape."""
    assert text.endswith("\n\n")
    events = text.split("\n\n")[:-1]
    for event in events:
        assert event.startswith("data: "), event
    return [event.removeprefix("data: ") for event in events]


def sse_chunks(text: str) -> list[dict[str, Any]]:
    events = sse_events(text)
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]
