"""5. `list_models` and `pick_model`: the domain calls the tools make, on the bundled snapshot (61 models)
and on a 10,000-model synthetic catalog (snapshot entries copied under new ids and prices, so its shape,
optional fields missing, TEE share and features, matches the real one)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from benchmarks.measure import summarize
from benchmarks.report import Section
from chutes_mcp.chutes.catalog.aliases import ModelResolver
from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.models import ModelInfo
from chutes_mcp.chutes.catalog.picker import PickRequest, pick_models
from chutes_mcp.chutes.catalog.service import CatalogSnapshot, CatalogView, bundled_snapshot, list_models

SYNTHETIC_SIZE = 10_000
TARGET_MS = {"snapshot": 1.0, "synthetic": 20.0}


def synthetic_view(size: int) -> CatalogView:
    rng = random.Random(20260218)
    base = bundled_snapshot().models
    models: list[ModelInfo] = []
    for number in range(size):
        template = base[number % len(base)]
        scale = rng.uniform(0.5, 2.0)
        prompt, completion = template.prices.prompt, template.prices.completion
        prices = template.prices.model_copy(
            update={
                "prompt": None if prompt is None else round(prompt * scale, 4),
                "completion": None if completion is None else round(completion * scale, 4),
            }
        )
        suffix = "-TEE" if template.tee else ""
        models.append(
            template.model_copy(update={"id": f"org{number % 97}/model-{number}{suffix}", "prices": prices})
        )
    snapshot = CatalogSnapshot(models=tuple(models), origin="live", fetched_at=datetime.now(UTC))
    return CatalogView(snapshot=snapshot, source="live", stale=False, last_error=None)


def snapshot_view() -> CatalogView:
    return CatalogView(snapshot=bundled_snapshot(), source="bundled", stale=True, last_error=None)


def new_copy(view: CatalogView) -> CatalogView:
    """The same models as a catalog copy nothing has seen: what the first call after a refresh gets."""
    snapshot = view.snapshot
    fresh = CatalogSnapshot(models=snapshot.models, origin=snapshot.origin, fetched_at=snapshot.fetched_at)
    return replace(view, snapshot=fresh)


def measure(operation: Callable[[CatalogView], object], view: CatalogView, budget_s: float) -> list[float]:
    """Repeated calls on one copy, after a first call that builds what is kept per copy."""
    operation(view)
    return timed(lambda: view, operation, budget_s)


def measure_first_calls(
    operation: Callable[[CatalogView], object], view: CatalogView, budget_s: float
) -> list[float]:
    """Each call on a new copy of the same catalog, so nothing kept per copy helps it."""
    return timed(lambda: new_copy(view), operation, budget_s)


def timed(
    make_view: Callable[[], CatalogView], operation: Callable[[CatalogView], object], budget_s: float
) -> list[float]:
    timings: list[float] = []
    deadline = time.perf_counter() + budget_s
    while time.perf_counter() < deadline or len(timings) < 20:
        view = make_view()
        start = time.perf_counter()
        operation(view)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def run(budget_s: float) -> Section:
    section = Section("5 catalog")
    views = {"snapshot": snapshot_view(), "synthetic": synthetic_view(SYNTHETIC_SIZE)}
    resolver = ModelResolver()
    operations: dict[str, Callable[[CatalogView], object]] = {
        "list_models all": lambda view: list_models(view, ModelFilter()),
        "list_models tee_only": lambda view: list_models(view, ModelFilter(tee_only=True)),
        "list_models tools+reasoning": lambda view: list_models(
            view, ModelFilter(features=("tools", "reasoning"))
        ),
        "pick_model general k=3": lambda view: pick_models(view, PickRequest(task="general")),
        "pick_model coding tee k=5": lambda view: pick_models(
            view, PickRequest(task="coding", constraints=ModelFilter(tee_only=True), k=5)
        ),
        "resolve alias chain": lambda view: resolver.resolve(view, "chutes-pro,chutes-fast:latency"),
    }
    for view_name, view in views.items():
        size = len(view.models)
        for op_name, operation in operations.items():
            summary = summarize(measure(operation, view, budget_s))
            section.data[f"{view_name} {op_name}"] = summary.as_dict()
            target = TARGET_MS[view_name]
            section.row(
                f"{op_name} on {size:,} models (p50/p95)",
                f"{summary.p50:.3f} / {summary.p95:.3f} ms",
                f"<= {target:g} ms",
                summary.p95 <= target,
            )
        for op_name, operation in operations.items():
            first = summarize(measure_first_calls(operation, view, budget_s))
            section.data[f"{view_name} {op_name} first call on a new copy"] = first.as_dict()
            section.row(
                f"  the first on a new copy of the {size:,} (p50/p95): {op_name}",
                f"{first.p50:.3f} / {first.p95:.3f} ms",
            )
    return section
