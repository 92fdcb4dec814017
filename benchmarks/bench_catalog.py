"""Benchmark (not a test): list and pick on the bundled snapshot and on a 10,000-model synthetic catalog.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_catalog.py

Targets: at most 1 ms per call on the snapshot, 20 ms on 10,000 models. Prints the median and best of many
runs per operation; the synthetic catalog is made by copying snapshot entries under new ids and prices, so
its shape (optional fields missing, TEE share, features) matches the real one.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from chutes_mcp.chutes.aliases import ModelResolver
from chutes_mcp.chutes.catalog import CatalogSnapshot, CatalogView, bundled_snapshot, list_models
from chutes_mcp.chutes.listing import ModelFilter
from chutes_mcp.chutes.models import ModelInfo
from chutes_mcp.chutes.picker import PickRequest, pick_models

SYNTHETIC_SIZE = 10_000


def synthetic_view(size: int) -> CatalogView:
    rng = random.Random(20260218)
    base = bundled_snapshot().models
    models: list[ModelInfo] = []
    for number in range(size):
        template = base[number % len(base)]
        scale = rng.uniform(0.5, 2.0)
        prices = template.prices.model_copy(
            update={
                "prompt": None
                if template.prices.prompt is None
                else round(template.prices.prompt * scale, 4),
                "completion": None
                if template.prices.completion is None
                else round(template.prices.completion * scale, 4),
            }
        )
        suffix = "-TEE" if template.tee else ""
        models.append(
            template.model_copy(update={"id": f"org{number % 97}/model-{number}{suffix}", "prices": prices})
        )
    snapshot = CatalogSnapshot(models=tuple(models), origin="live", fetched_at=datetime.now(UTC))
    return CatalogView(snapshot=snapshot, source="live", stale=False, last_error=None)


def measure(operation: Callable[[], object], budget_s: float = 1.0) -> tuple[float, float, int]:
    operation()  # warm caches (indexes, imports)
    timings: list[float] = []
    deadline = time.perf_counter() + budget_s
    while time.perf_counter() < deadline or len(timings) < 5:
        start = time.perf_counter()
        operation()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1e3, min(timings) * 1e3, len(timings)


def main() -> None:
    views = {
        "snapshot (61)": bundled_snapshot_view(),
        f"synthetic ({SYNTHETIC_SIZE:,})": synthetic_view(SYNTHETIC_SIZE),
    }
    resolver = ModelResolver()
    operations: dict[str, Callable[[CatalogView], object]] = {
        "list all": lambda view: list_models(view, ModelFilter()),
        "list --tee-only": lambda view: list_models(view, ModelFilter(tee_only=True)),
        "list tools+reasoning": lambda view: list_models(view, ModelFilter(features=("tools", "reasoning"))),
        "pick general k=3": lambda view: pick_models(view, PickRequest(task="general")),
        "pick coding tee k=5": lambda view: pick_models(
            view, PickRequest(task="coding", constraints=ModelFilter(tee_only=True), k=5)
        ),
        "resolve alias chain": lambda view: resolver.resolve(view, "chutes-pro,chutes-fast:latency"),
    }
    print(f"{'catalog':<20} {'operation':<22} {'median ms':>10} {'best ms':>9} {'runs':>6}")
    for view_name, view in views.items():
        for op_name, operation in operations.items():
            median, best, runs = measure(lambda op=operation, v=view: op(v))
            print(f"{view_name:<20} {op_name:<22} {median:>10.3f} {best:>9.3f} {runs:>6}")


def bundled_snapshot_view() -> CatalogView:
    return CatalogView(snapshot=bundled_snapshot(), source="bundled", stale=True, last_error=None)


if __name__ == "__main__":
    main()
