"""The clock every process of a run shares, and summaries of samples: median, 95th percentile, spread."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def mono_ns() -> int:
    """CLOCK_MONOTONIC in nanoseconds: one clock for the whole machine on Linux, so a timestamp taken in
    the tap or the direct-client process compares with one taken here."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def ms_between(start_ns: int, end_ns: int) -> float:
    return (end_ns - start_ns) / 1e6


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p95: float
    min: float
    max: float

    def as_dict(self) -> dict[str, Any]:
        return {
            key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()
        }


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (no interpolation), so p95 is a value that was measured."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        raise ValueError("no samples")
    return Summary(
        n=len(values),
        p50=statistics.median(values),
        p95=percentile(values, 0.95),
        min=min(values),
        max=max(values),
    )


def turns(kinds: Sequence[str], rounds: int) -> Iterator[str]:
    """Each round, every kind once, in an order that rotates from round to round, so drift on the shared
    machine touches all kinds alike."""
    for number in range(rounds):
        shift = number % len(kinds)
        yield from [*kinds[shift:], *kinds[:shift]]


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs: growth per unit, less swayed by one noisy sample than
    last minus first."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
