"""Per-model circuit breakers: stop calling a model that keeps failing, try it again after a cooldown."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from chutes_mcp.chutes.errors import ModelUnavailableError

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOLDOWN_S = 30.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    model: str
    state: BreakerState
    consecutive_failures: int
    retry_in_s: float


class CircuitBreaker:
    """Opens after `threshold` consecutive retryable failures; after `cooldown_s` lets one trial through."""

    def __init__(
        self,
        model: str,
        *,
        threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model = model
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def before_call(self) -> None:
        """Raise `model_unavailable` without touching the network while the breaker is open."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        now = self._clock()
        # A trial that never reported back (cancelled) must not keep the breaker shut forever.
        trial_stale = self._trial_started_at is None or now - self._trial_started_at >= self._cooldown_s
        if state is BreakerState.HALF_OPEN and trial_stale:
            self._trial_started_at = now
            return
        retry_in = self.snapshot().retry_in_s
        raise ModelUnavailableError(
            f"{self.model} failed {self._failures} times in a row; calls are paused",
            retryable=False,
            retry_after_s=retry_in,
            hint=f"Use a fallback model, or retry {self.model} in {retry_in:.0f} s.",
        )

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_started_at = None

    def record_failure(self) -> None:
        """Count a retryable failure (overload, cold chute, 5xx, network, timeout)."""
        self._failures += 1
        self._trial_started_at = None
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()

    def snapshot(self) -> BreakerSnapshot:
        state = self.state
        retry_in = 0.0
        if state is BreakerState.OPEN and self._opened_at is not None:
            retry_in = max(0.0, self._cooldown_s - (self._clock() - self._opened_at))
        return BreakerSnapshot(self.model, state, self._failures, retry_in)


class BreakerRegistry:
    """One breaker per model id, created on first use."""

    def __init__(
        self,
        *,
        threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, model: str) -> CircuitBreaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            breaker = CircuitBreaker(
                model, threshold=self._threshold, cooldown_s=self._cooldown_s, clock=self._clock
            )
            self._breakers[model] = breaker
        return breaker

    def snapshots(self) -> list[BreakerSnapshot]:
        return [breaker.snapshot() for breaker in self._breakers.values()]
