"""The model catalog service: live `/v1/models` behind a TTL cache, a disk copy and a bundled snapshot.

Answers never wait on the network unless the caller allows it (`get(max_wait_s=...)`): the service starts on
the last good copy saved on disk, or on the bundled snapshot, and refreshes in the background (the
mechanism, shared with the embedding chutes, is `refresh.RefreshedCopy`). Every answer names its source and
when that copy was fetched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar, cast

from chutes_mcp.chutes.catalog.filters import CatalogSource, ModelFilter, ModelList
from chutes_mcp.chutes.catalog.models import ModelInfo, models_from_raw
from chutes_mcp.chutes.catalog.refresh import (
    CopyKind,
    Fetch,
    Origin,
    RefreshedCopy,
    load_disk_copy,
    save_disk_copy,
)

FetchModels = Fetch
"""Fetches the raw `data` list of `GET /v1/models`; any exception means the live fetch failed."""

DEFAULT_TTL_S = 300.0  # Chutes caches the list server-side for 300 s; polling faster gains nothing.
DEFAULT_FAILURE_BACKOFF_S = 30.0
CACHE_FILE = "models.json"
_DERIVED_LIMIT = 64  # answers kept per copy: the presets and filters in use, many times over

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class CatalogSnapshot:
    """One copy of the catalog as loaded; compared by identity, so indexes can be cached per copy."""

    models: tuple[ModelInfo, ...]
    origin: Origin
    fetched_at: datetime
    # What depends on this copy alone (its name and search indexes, which models pass a filter, a
    # preset's ranking), kept with it so it goes when the copy goes; `memo` bounds it, since filters
    # come from callers.
    derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, worked out once per copy for each `key`; the value must not be mutated."""
        try:
            return cast(T, self.derived[key])
        except KeyError:
            if len(self.derived) >= _DERIVED_LIMIT:
                self.derived.clear()
            value = self.derived[key] = compute()
            return value


@dataclass(frozen=True)
class Eligible:
    """The models of one copy that pass a filter, and how many failed each check."""

    positions: tuple[int, ...]
    rejected: Mapping[str, int]


def eligible(snapshot: CatalogSnapshot, model_filter: ModelFilter) -> Eligible:
    """Which models of `snapshot` pass `model_filter`, worked out once per copy and filter."""

    def compute() -> Eligible:
        positions, rejected = model_filter.partition(snapshot.models)
        return Eligible(tuple(positions), MappingProxyType(rejected))

    return snapshot.memo(("eligible", model_filter), compute)


@dataclass(frozen=True)
class CatalogView:
    """What one answer is based on: the copy, and how it stands right now."""

    snapshot: CatalogSnapshot
    source: CatalogSource
    stale: bool
    last_error: str | None

    @property
    def models(self) -> tuple[ModelInfo, ...]:
        return self.snapshot.models

    @property
    def fetched_at(self) -> datetime:
        return self.snapshot.fetched_at


def list_models(view: CatalogView, model_filter: ModelFilter) -> ModelList:
    """The catalog models passing `model_filter`, with the provenance of the copy they come from."""
    models = [view.models[position] for position in eligible(view.snapshot, model_filter).positions]
    return ModelList(
        source=view.source, fetched_at=view.fetched_at, stale=view.stale, count=len(models), models=models
    )


@cache
def bundled_snapshot() -> CatalogSnapshot:
    """The dated snapshot shipped in `chutes_mcp/chutes/data` (regenerate with scripts/make_snapshot.py)."""
    text = (
        resources.files("chutes_mcp.chutes.catalog")
        .joinpath("data", "models_snapshot.json")
        .read_text("utf-8")
    )
    document = json.loads(text)
    return CatalogSnapshot(
        models=models_from_raw(document["data"]),
        origin="bundled",
        fetched_at=datetime.fromisoformat(document["captured_at"]),
    )


def _snapshot(raw: list[dict[str, Any]], origin: Origin, fetched_at: datetime) -> CatalogSnapshot:
    models = models_from_raw(raw)
    if not models:
        raise ValueError("Chutes returned an empty model list")
    return CatalogSnapshot(models=models, origin=origin, fetched_at=fetched_at)


MODELS = CopyKind(name="catalog", cache_file=CACHE_FILE, parse=_snapshot, bundled=bundled_snapshot)


def load_disk_snapshot(cache_dir: Path) -> CatalogSnapshot | None:
    """The last good live copy saved in `cache_dir`, or None when there is none or it is unreadable."""
    return load_disk_copy(MODELS, cache_dir)


def save_disk_snapshot(cache_dir: Path, raw: list[dict[str, Any]], fetched_at: datetime) -> None:
    """Write the raw catalog atomically, so a crash mid-write never leaves a torn file behind."""
    save_disk_copy(cache_dir, CACHE_FILE, raw, fetched_at)


class ModelCatalog(RefreshedCopy[CatalogSnapshot]):
    """The catalog of one process; use as `async with ModelCatalog(...) as catalog:`.

    `fetch` is the live source (`ChutesClient.list_models_raw`); None runs offline on disk or bundled data.
    `cache_dir` None disables the disk copy. `clock` is monotonic seconds, injectable for tests.
    """

    def __init__(
        self,
        fetch: FetchModels | None,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        cache_dir: Path | None = None,
        failure_backoff_s: float = DEFAULT_FAILURE_BACKOFF_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            MODELS,
            fetch,
            ttl_s=ttl_s,
            cache_dir=cache_dir,
            failure_backoff_s=failure_backoff_s,
            clock=clock,
        )

    async def get(self, *, max_wait_s: float = 0.0) -> CatalogView:
        """The current catalog; when it is due for a refresh, waits at most `max_wait_s` for fresh data."""
        snapshot, fetched_now = await self.current(max_wait_s=max_wait_s)
        if snapshot.origin == "live":
            source: CatalogSource = "live" if fetched_now else "cache"
            stale = not self.is_fresh()
        else:
            source = snapshot.origin
            stale = True
        return CatalogView(snapshot=snapshot, source=source, stale=stale, last_error=self.last_error)
