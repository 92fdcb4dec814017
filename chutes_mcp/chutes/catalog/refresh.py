"""A list fetched from Chutes, kept fresh: a TTL, a copy on disk, a bundled fallback, background refresh.

Answers never wait on the network unless the caller allows it (`current(max_wait_s=...)`): a copy starts
on the last good one saved on disk, or on the bundled one, and refreshes in the background. A stale copy
is served while a refresh runs (stale-while-revalidate); a failed refresh keeps the copy in hand and backs
off before trying again. The LLM catalog (`/v1/models`) and the embedding chutes (`/chutes/`) are both
kept this way; `CopyKind` says what differs between them.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, Self, TypeVar

import anyio
from anyio.abc import TaskGroup

from chutes_mcp.log import get_logger

Fetch = Callable[[], Awaitable[list[dict[str, Any]]]]
"""Fetches the raw entries from Chutes; any exception means the live fetch failed."""

Origin = Literal["live", "disk", "bundled"]


class Dated(Protocol):
    """What every copy says about itself."""

    @property
    def origin(self) -> Origin: ...

    @property
    def fetched_at(self) -> datetime: ...


CopyT = TypeVar("CopyT", bound=Dated)

_log = get_logger(__name__)


@dataclass(frozen=True)
class CopyKind(Generic[CopyT]):
    """What one kept list is: its name in logs, its file on disk, and how a copy is made."""

    name: str
    cache_file: str
    # The raw entries as a copy; ValueError (or KeyError, TypeError) when they are unusable or empty.
    parse: Callable[[list[dict[str, Any]], Origin, datetime], CopyT]
    bundled: Callable[[], CopyT]


def load_disk_copy(kind: CopyKind[CopyT], cache_dir: Path) -> CopyT | None:
    """The last good live copy saved in `cache_dir`, or None when there is none or it is unusable."""
    path = cache_dir / kind.cache_file
    try:
        document = json.loads(path.read_text("utf-8"))
        return kind.parse(document["data"], "disk", datetime.fromisoformat(document["fetched_at"]))
    except FileNotFoundError:
        return None
    except Exception as exc:  # whatever is wrong with a cache, it is only a cache
        # Read at start: a file nested deeper than the parser goes (RecursionError), or of another
        # shape, must not stop the process. It is treated as absent and replaced by the next good fetch.
        error = f"{type(exc).__name__}: {exc}"[:300]
        _log.warning(f"{kind.name}_disk_copy_unreadable", path=str(path), error=error)
        return None


def save_disk_copy(cache_dir: Path, cache_file: str, raw: list[dict[str, Any]], fetched_at: datetime) -> None:
    """Write the raw entries atomically, so a crash mid-write never leaves a torn file behind."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    document = {"fetched_at": fetched_at.isoformat(), "object": "list", "data": raw}
    stem = cache_file.removesuffix(".json")
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed before the rename, removed on failure
        "w", encoding="utf-8", dir=cache_dir, prefix=f".{stem}-", suffix=".tmp", delete=False
    )
    try:
        with handle:
            json.dump(document, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, cache_dir / cache_file)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


class RefreshedCopy(Generic[CopyT]):
    """One kept list of one process; use as `async with ...:`.

    `fetch` is the live source; None runs offline on disk or bundled data. `cache_dir` None disables the
    disk copy. `clock` is monotonic seconds, injectable for tests.
    """

    def __init__(
        self,
        kind: CopyKind[CopyT],
        fetch: Fetch | None,
        *,
        ttl_s: float,
        cache_dir: Path | None,
        failure_backoff_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_s < 0:
            raise ValueError(f"{kind.name} TTL must be 0 (no caching) or more seconds, got {ttl_s}")
        self._kind = kind
        self._fetch = fetch
        self._ttl_s = ttl_s
        self._cache_dir = cache_dir
        self._failure_backoff_s = failure_backoff_s
        self._clock = clock
        disk = load_disk_copy(kind, cache_dir) if cache_dir is not None else None
        self._copy: CopyT = disk or kind.bundled()
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

    @property
    def last_error(self) -> str | None:
        """Why the last refresh failed; None after a good one."""
        return self._last_error

    def is_fresh(self) -> bool:
        return self._live_at is not None and self._clock() - self._live_at < self._ttl_s

    async def current(self, *, max_wait_s: float = 0.0) -> tuple[CopyT, bool]:
        """The copy in hand, and whether this call's wait brought it; when a refresh is due, waits at
        most `max_wait_s` for it."""
        before = self._copy
        self._start_refresh_if_due()
        refreshed = self._refreshed
        if refreshed is not None and max_wait_s > 0:
            with anyio.move_on_after(max_wait_s):
                await refreshed.wait()
        return self._copy, self._copy is not before

    def _start_refresh_if_due(self) -> None:
        if self._fetch is None or self._task_group is None or self._refreshed is not None:
            return
        if self.is_fresh() or self._clock() < self._next_attempt_at:
            return
        self._refreshed = anyio.Event()
        self._task_group.start_soon(self._refresh, self._fetch, self._refreshed)

    async def _refresh(self, fetch: Fetch, refreshed: anyio.Event) -> None:
        raw: list[dict[str, Any]] | None = None
        try:
            raw = await fetch()
            fresh = self._kind.parse(raw, "live", datetime.now(UTC))
        except Exception as exc:  # any failure of the live source means: keep the copy in hand
            raw = None
            self._last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._next_attempt_at = self._clock() + self._failure_backoff_s
            _log.warning(
                f"{self._kind.name}_refresh_failed", error=self._last_error, serving=self._copy.origin
            )
        else:
            self._copy = fresh
            self._live_at = self._clock()
            self._last_error = None
            _log.debug(f"{self._kind.name}_refreshed", entries=len(raw))
        finally:
            self._refreshed = None
            refreshed.set()
        if raw is not None and self._cache_dir is not None:
            await self._persist(self._cache_dir, raw, self._copy.fetched_at)

    async def _persist(self, cache_dir: Path, raw: list[dict[str, Any]], fetched_at: datetime) -> None:
        try:
            # Shielded: a copy already fetched is worth the few milliseconds of writing it at shutdown.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(
                    save_disk_copy, cache_dir, self._kind.cache_file, raw, fetched_at
                )
        except OSError as exc:
            _log.warning(f"{self._kind.name}_disk_copy_not_saved", path=str(cache_dir), error=str(exc))
