"""The model catalog service: live `/v1/models` behind a TTL cache, a disk copy and a bundled snapshot.

Answers never wait on the network unless the caller allows it (`get(max_wait_s=...)`): the service starts on
the last good copy saved on disk, or on the bundled snapshot, and refreshes in the background. A stale copy
is served while a refresh runs (stale-while-revalidate); a failed refresh keeps the copy in hand and backs
off before trying again. Every answer names its source and when that copy was fetched.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Literal, Self, TypeVar, cast

import anyio
from anyio.abc import TaskGroup

from chutes_mcp.chutes.catalog.filters import CatalogSource, ModelFilter, ModelList
from chutes_mcp.chutes.catalog.models import ModelInfo, models_from_raw
from chutes_mcp.log import get_logger

FetchModels = Callable[[], Awaitable[list[dict[str, Any]]]]
"""Fetches the raw `data` list of `GET /v1/models`; any exception means the live fetch failed."""

Origin = Literal["live", "disk", "bundled"]

DEFAULT_TTL_S = 300.0  # Chutes caches the list server-side for 300 s; polling faster gains nothing.
DEFAULT_FAILURE_BACKOFF_S = 30.0
CACHE_FILE = "models.json"
_DERIVED_LIMIT = 64  # answers kept per copy: the presets and filters in use, many times over

T = TypeVar("T")

_log = get_logger(__name__)


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


def load_disk_snapshot(cache_dir: Path) -> CatalogSnapshot | None:
    """The last good live copy saved in `cache_dir`, or None when there is none or it is unreadable."""
    path = cache_dir / CACHE_FILE
    try:
        document = json.loads(path.read_text("utf-8"))
        fetched_at = datetime.fromisoformat(document["fetched_at"])
        models = models_from_raw(document["data"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _log.warning("catalog_disk_copy_unreadable", path=str(path), error=str(exc))
        return None
    if not models:
        return None
    return CatalogSnapshot(models=models, origin="disk", fetched_at=fetched_at)


def save_disk_snapshot(cache_dir: Path, raw: list[dict[str, Any]], fetched_at: datetime) -> None:
    """Write the raw catalog atomically, so a crash mid-write never leaves a torn file behind."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    document = {"fetched_at": fetched_at.isoformat(), "object": "list", "data": raw}
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed before the rename, removed on failure
        "w", encoding="utf-8", dir=cache_dir, prefix=".models-", suffix=".tmp", delete=False
    )
    try:
        with handle:
            json.dump(document, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, cache_dir / CACHE_FILE)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


class ModelCatalog:
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
        if ttl_s < 0:
            raise ValueError(f"catalog TTL must be 0 (no caching) or more seconds, got {ttl_s}")
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._cache_dir = cache_dir
        self._failure_backoff_s = failure_backoff_s
        self._clock = clock
        disk = load_disk_snapshot(cache_dir) if cache_dir is not None else None
        self._snapshot = disk or bundled_snapshot()
        self._live_at: float | None = None
        self._next_attempt_at = clock()
        self._refreshed: anyio.Event | None = None
        self._last_error: str | None = None
        self._task_group: TaskGroup | None = None

    async def __aenter__(self) -> Self:
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        self._start_refresh_if_due()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        task_group, self._task_group = self._task_group, None
        if task_group is None:
            return None
        # A refresh still running at shutdown is abandoned, never awaited.
        task_group.cancel_scope.cancel()
        return await task_group.__aexit__(exc_type, exc, traceback)

    async def get(self, *, max_wait_s: float = 0.0) -> CatalogView:
        """The current catalog; when it is due for a refresh, waits at most `max_wait_s` for fresh data."""
        before = self._snapshot
        self._start_refresh_if_due()
        refreshed = self._refreshed
        if refreshed is not None and max_wait_s > 0:
            with anyio.move_on_after(max_wait_s):
                await refreshed.wait()
        return self._view(fetched_now=self._snapshot is not before)

    def _view(self, *, fetched_now: bool) -> CatalogView:
        snapshot = self._snapshot
        if snapshot.origin == "live":
            source: CatalogSource = "live" if fetched_now else "cache"
            stale = not self._is_fresh()
        else:
            source = snapshot.origin
            stale = True
        return CatalogView(snapshot=snapshot, source=source, stale=stale, last_error=self._last_error)

    def _is_fresh(self) -> bool:
        return self._live_at is not None and self._clock() - self._live_at < self._ttl_s

    def _start_refresh_if_due(self) -> None:
        if self._fetch is None or self._task_group is None or self._refreshed is not None:
            return
        if self._is_fresh() or self._clock() < self._next_attempt_at:
            return
        self._refreshed = anyio.Event()
        self._task_group.start_soon(self._refresh, self._fetch, self._refreshed)

    async def _refresh(self, fetch: FetchModels, refreshed: anyio.Event) -> None:
        raw: list[dict[str, Any]] | None = None
        try:
            raw = await fetch()
            models = models_from_raw(raw)
            if not models:
                raise ValueError("Chutes returned an empty model list")
        except Exception as exc:  # any failure of the live source means: keep the copy in hand
            raw = None
            self._last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._next_attempt_at = self._clock() + self._failure_backoff_s
            _log.warning("catalog_refresh_failed", error=self._last_error, serving=self._snapshot.origin)
        else:
            fetched_at = datetime.now(UTC)
            self._snapshot = CatalogSnapshot(models=models, origin="live", fetched_at=fetched_at)
            self._live_at = self._clock()
            self._last_error = None
            _log.debug("catalog_refreshed", models=len(models))
        finally:
            self._refreshed = None
            refreshed.set()
        if raw is not None and self._cache_dir is not None:
            await self._persist(self._cache_dir, raw, self._snapshot.fetched_at)

    async def _persist(self, cache_dir: Path, raw: list[dict[str, Any]], fetched_at: datetime) -> None:
        try:
            # Shielded: a copy already fetched is worth the few milliseconds of writing it at shutdown.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(save_disk_snapshot, cache_dir, raw, fetched_at)
        except OSError as exc:
            _log.warning("catalog_disk_copy_not_saved", path=str(cache_dir), error=str(exc))
