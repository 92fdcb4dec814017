"""Rules about reasoning output: the empty answer of a model that thought its whole budget away, and
how much of a reasoning trace is worth handing back."""

from __future__ import annotations

from chutes_mcp.chutes.types import ChatResult

REASONING_CHARS = 4_000
"""Reasoning kept when the caller asks for it: traces run to tens of thousands of characters and
would flood the calling model's context."""


def is_empty_answer(result: ChatResult) -> bool:
    """The answer was cut by `max_tokens` before a single visible word (or tool call) came out."""
    return result.finish_reason == "length" and not result.text.strip() and not result.tool_calls


def clip_reasoning(text: str, limit: int = REASONING_CHARS) -> tuple[str, int]:
    """The last `limit` characters (where the reasoning reaches its conclusion) and how many were cut."""
    if len(text) <= limit:
        return text, 0
    return text[-limit:], len(text) - limit
