"""Summaries of timings: median and 95th percentile, in milliseconds."""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p95: float
    mean: float
    min: float

    def as_dict(self) -> dict[str, Any]:
        return {
            key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()
        }


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (no interpolation), so p95 is a value that was measured."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarize(ms: list[float]) -> Summary:
    if not ms:
        raise ValueError("no samples")
    return Summary(
        n=len(ms),
        p50=statistics.median(ms),
        p95=percentile(ms, 0.95),
        mean=statistics.fmean(ms),
        min=min(ms),
    )


def now_ms() -> float:
    return time.perf_counter_ns() / 1e6
