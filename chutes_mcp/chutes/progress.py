"""Progress of a streaming answer, throttled so a fast stream costs one clock read per token.

A client that hears nothing for about 60 s kills the call (the most common complaint about LLM MCP
servers), so the first token is reported at once and then at most every `PROGRESS_INTERVAL_S`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

PROGRESS_INTERVAL_S = 0.25
TAIL_CHARS = 80


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    tokens: int
    """Streamed pieces so far (reasoning, answer and tool-call deltas); about one token each."""
    text_tail: str
    """The end of the answer so far, at most `TAIL_CHARS` characters."""
    thinking: bool
    """True while only reasoning has arrived."""

    def message(self) -> str:
        if not self.text_tail:
            return f"{self.tokens} tokens" + (" (thinking)" if self.thinking else "")
        return f"{self.tokens} tokens: …{self.text_tail}"


ProgressCallback = Callable[[ProgressUpdate], Awaitable[None]]


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    return text[-limit:].replace("\n", " ")


class ProgressThrottle:
    """Says when the next update is due: at the first token, then once per interval at most."""

    def __init__(self, interval_s: float = PROGRESS_INTERVAL_S, clock: Callable[[], float] = time.monotonic):
        self._interval_s = interval_s
        self._clock = clock
        self._next_at: float | None = None

    def due(self) -> bool:
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            return False
        self._next_at = now + self._interval_s
        return True
