"""What the simulator saw, for tests and benchmarks: `GET /_sim/stats`."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict, deque
from typing import Any

_RATE_WINDOW_S = 60.0
# A client may send any JSON as a switch; the stats keep a bounded prefix of it.
_VALUE_CHARS = 40


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests: Counter[str] = Counter()
        self.requests_by_model: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.requests_by_user: Counter[str] = Counter()
        self.reasoning_controls: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.statuses: Counter[int] = Counter()
        self.faults_served: Counter[str] = Counter()
        self.streams_open = 0
        self.streams_peak = 0
        self.streams_completed = 0
        self.streams_closed_early = 0
        self.tcp_connections = 0
        self._arrivals: deque[float] = deque()
        self._arrivals_last_1s: deque[float] = deque()
        self._peak_per_1s = 0
        self._peak_per_60s = 0
        self._callers: dict[str, _CallerRate] = {}

    def record_request(self, route: str, model: str | None = None, user: str | None = None) -> None:
        self.requests[route] += 1
        if model is not None:
            self.requests_by_model[route][model] += 1
        if user is not None:
            self.requests_by_user[user] += 1
        self._record_arrival(time.monotonic())

    def _record_arrival(self, now: float) -> None:
        # Peak arrival rates show whether a client-side rate limiter held: a real Chutes edge bans bursts.
        # A queue per window keeps the cost per request constant however busy the simulator is.
        self._peak_per_60s = max(self._peak_per_60s, _admit(self._arrivals, now, _RATE_WINDOW_S))
        self._peak_per_1s = max(self._peak_per_1s, _admit(self._arrivals_last_1s, now, 1.0))

    def record_caller(self, caller: str) -> None:
        """Count a request to any Chutes host (models, invocations, account, listings) by its caller, so
        a test can check one credential's rate across every client that shares it."""
        rate = self._callers.get(caller)
        if rate is None:
            rate = self._callers[caller] = _CallerRate()
        rate.admit(time.monotonic())

    def record_reasoning_controls(self, model: str, controls: dict[str, Any]) -> None:
        """Count each reasoning control a chat request carried for `model`, as `key=<JSON value>`, so a test
        can see which switch a client sent which model."""
        for key, value in controls.items():
            self.reasoning_controls[model][f"{key}={json.dumps(value)[:_VALUE_CHARS]}"] += 1

    def record_status(self, status: int) -> None:
        self.statuses[status] += 1

    def record_fault(self, name: str) -> None:
        self.faults_served[name] += 1

    def stream_opened(self) -> None:
        self.streams_open += 1
        self.streams_peak = max(self.streams_peak, self.streams_open)

    def stream_closed(self, *, completed: bool) -> None:
        self.streams_open -= 1
        if completed:
            self.streams_completed += 1
        else:
            self.streams_closed_early += 1

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": {
                route: {"total": total, "by_model": dict(self.requests_by_model.get(route, {}))}
                for route, total in self.requests.items()
            },
            "requests_by_user": dict(self.requests_by_user),
            "reasoning_controls": {model: dict(sent) for model, sent in self.reasoning_controls.items()},
            "statuses": {str(status): count for status, count in self.statuses.items()},
            "faults_served": dict(self.faults_served),
            "streams": {
                "open": self.streams_open,
                "peak": self.streams_peak,
                "completed": self.streams_completed,
                "closed_early": self.streams_closed_early,
            },
            "tcp_connections": self.tcp_connections,
            "peak_requests_per_1s": self._peak_per_1s,
            "peak_requests_per_60s": self._peak_per_60s,
            "callers": {caller: rate.snapshot() for caller, rate in self._callers.items()},
        }


class _CallerRate:
    """One caller's requests: how many, and the most that arrived within any 1 s and any 60 s."""

    def __init__(self) -> None:
        self.requests = 0
        self._last_1s: deque[float] = deque()
        self._last_60s: deque[float] = deque()
        self._peak_per_1s = 0
        self._peak_per_60s = 0

    def admit(self, now: float) -> None:
        self.requests += 1
        self._peak_per_1s = max(self._peak_per_1s, _admit(self._last_1s, now, 1.0))
        self._peak_per_60s = max(self._peak_per_60s, _admit(self._last_60s, now, _RATE_WINDOW_S))

    def snapshot(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "peak_per_1s": self._peak_per_1s,
            "peak_per_60s": self._peak_per_60s,
        }


def _admit(window: deque[float], now: float, length_s: float) -> int:
    """Add an arrival to a sliding window of `length_s` seconds; the number of arrivals now in it."""
    window.append(now)
    while window[0] <= now - length_s:
        window.popleft()
    return len(window)
