"""The latency model: time to first token, then a steady token rate (plus any scripted slowdown)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio


@dataclass(frozen=True)
class Pacing:
    ttft_ms: int = 0
    tokens_per_s: int = 0
    extra_ms_per_token: int = 0

    @property
    def per_token_s(self) -> float:
        rate = 1 / self.tokens_per_s if self.tokens_per_s > 0 else 0.0
        return rate + self.extra_ms_per_token / 1000

    async def first_token(self) -> None:
        if self.ttft_ms > 0:
            await anyio.sleep(self.ttft_ms / 1000)

    async def whole(self, tokens: int) -> None:
        """A non-streamed answer arrives once every token is generated."""
        delay = self.ttft_ms / 1000 + tokens * self.per_token_s
        if delay > 0:
            await anyio.sleep(delay)

    def clock(self) -> TokenClock | None:
        """A pacer for one stream, or None when tokens flow unthrottled (the fast path)."""
        step = self.per_token_s
        return TokenClock(step) if step > 0 else None


class TokenClock:
    # Sleeping a fixed step per token drifts by the scheduling overhead; a schedule keeps the rate.
    def __init__(self, step_s: float) -> None:
        self._step = step_s
        self._next = time.monotonic()

    async def tick(self) -> None:
        self._next += self._step
        delay = self._next - time.monotonic()
        if delay > 0:
            await anyio.sleep(delay)
