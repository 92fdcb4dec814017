"""Progress of a streaming answer, throttled so a fast stream costs one clock read per token.

A client that hears nothing for about 60 s kills the call (the most common complaint about LLM MCP
servers), so the first token is reported at once and then at most every `PROGRESS_INTERVAL_S`; and
while nothing streams (a cold chute, retries, a queue, a stalled stream) a heartbeat goes out every
`HEARTBEAT_S`.

The streams of a process share one budget of updates a second (`ProgressBudget`): each update costs the
server about 0.2 ms of CPU, most of it in the MCP SDK's path to the client, and a thousand streams at
four a second would spend most of a core on them, lengthening every call and so sending yet more. Past
`PROGRESS_PER_S / (1 / PROGRESS_INTERVAL_S)` streams, each one's interval widens to share the budget:
at 1,000 streams, an update every 2.5 s, far inside the clients' 60 s.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PROGRESS_INTERVAL_S = 0.25
PROGRESS_PER_S = 400.0
HEARTBEAT_S = 5.0
TAIL_CHARS = 80
# Progress values must strictly increase; a heartbeat has no new token to count, so it adds this.
_HEARTBEAT_STEP = 0.001


@dataclass(frozen=True, slots=True)
class ProgressUpdate:
    tokens: int
    """Streamed pieces so far (reasoning, answer and tool-call deltas); about one token each."""
    text_tail: str
    """The end of the answer so far, at most `TAIL_CHARS` characters."""
    thinking: bool
    """True while only reasoning has arrived."""
    value: float
    """The progress number to report: the token count, nudged up by heartbeats so it always increases."""
    waiting_s: float | None = None
    """Set on a heartbeat: seconds since anything last streamed."""

    def message(self) -> str:
        if self.waiting_s is not None:
            return f"{self.tokens} tokens; waiting for the model ({self.waiting_s:.0f} s)"
        if not self.text_tail:
            return f"{self.tokens} tokens" + (" (thinking)" if self.thinking else "")
        return f"{self.tokens} tokens: …{self.text_tail}"


ProgressCallback = Callable[[ProgressUpdate], Awaitable[None]]


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    return text[-limit:].replace("\n", " ")


class ProgressBudget:
    """The progress updates a second that all the streams of a process send together, at most: each
    stream's interval is the longer of `interval_s` and its share of the budget."""

    def __init__(self, per_s: float = PROGRESS_PER_S, interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self.per_s = per_s
        self.interval_s = interval_s
        self.streams = 0

    def interval(self) -> float:
        return max(self.interval_s, self.streams / self.per_s)

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """One stream reporting progress, while the block runs."""
        self.streams += 1
        try:
            yield
        finally:
            self.streams -= 1


class ProgressThrottle:
    """Says when the next update is due: at the first token, then once per interval of the budget at
    most; and keeps the reported value increasing across token updates and heartbeats."""

    def __init__(self, budget: ProgressBudget, clock: Callable[[], float] = time.monotonic):
        self._budget = budget
        self._clock = clock
        self._next_at: float | None = None
        self.last_sent_at = clock()
        self._last_value = 0.0

    def due(self) -> bool:
        now = self._clock()
        if self._next_at is not None and now < self._next_at:
            return False
        self._next_at = now + self._budget.interval()
        self.last_sent_at = now
        return True

    def value(self, tokens: int) -> float:
        self._last_value = max(float(tokens), self._last_value + _HEARTBEAT_STEP)
        return self._last_value

    def heartbeat_due(self, every_s: float) -> float | None:
        """Seconds of silence, when a heartbeat is due; None otherwise."""
        now = self._clock()
        silent = now - self.last_sent_at
        if silent < every_s:
            return None
        self.last_sent_at = now
        return silent

    def until_heartbeat_s(self, every_s: float) -> float:
        """Seconds until a heartbeat is due, if nothing is sent before."""
        return max(0.0, self.last_sent_at + every_s - self._clock())
