"""The catalog service: TTL cache, stale-while-revalidate, disk copy and bundled fallback.

The live source is a plain async function standing in for `ChutesClient.list_models_raw`; time is a
settable clock, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import pytest
from catalog_support import Clock

from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.service import CACHE_FILE, ModelCatalog, list_models, save_disk_snapshot

pytestmark = pytest.mark.anyio

FETCHED_AT = datetime(2026, 2, 18, tzinfo=UTC)
WAIT_S = 10.0  # a guard against hanging, never reached when the code is right


class Source:
    """A live catalog whose contents, failures and speed the test controls."""

    def __init__(self, *ids: str) -> None:
        self.ids = list(ids)
        self.error: Exception | None = None
        self.gate: anyio.Event | None = None
        self.calls = 0

    async def __call__(self) -> list[dict[str, Any]]:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return [{"id": model_id, "confidential_compute": model_id.endswith("-TEE")} for model_id in self.ids]


def _ids(models: tuple[Any, ...]) -> list[str]:
    return [model.id for model in models]


async def test_offline_without_cache_serves_the_bundled_snapshot(tmp_path: Path) -> None:
    async with ModelCatalog(None, cache_dir=tmp_path) as catalog:
        view = await catalog.get(max_wait_s=WAIT_S)
    assert (view.source, view.stale, len(view.models)) == ("bundled", True, 61)
    listing = list_models(view, ModelFilter(tee_only=True))
    assert listing.count == 21
    assert all(model.tee for model in listing.models)
    assert listing.source == "bundled"


async def test_live_copy_is_cached_then_saved_for_the_next_start(tmp_path: Path) -> None:
    source = Source("a/One", "b/Two-TEE")
    async with ModelCatalog(source, cache_dir=tmp_path) as catalog:
        live = await catalog.get(max_wait_s=WAIT_S)
        cached = await catalog.get(max_wait_s=WAIT_S)
    assert (live.source, live.stale, _ids(live.models)) == ("live", False, ["a/One", "b/Two-TEE"])
    assert (cached.source, cached.stale, cached.fetched_at) == ("cache", False, live.fetched_at)
    assert source.calls == 1

    async with ModelCatalog(None, cache_dir=tmp_path) as restarted:
        disk = await restarted.get()
    assert (disk.source, _ids(disk.models), disk.fetched_at) == (
        "disk",
        ["a/One", "b/Two-TEE"],
        live.fetched_at,
    )


@pytest.mark.parametrize(
    ("error", "expected_in_message"),
    [
        (ConnectionError("connection refused"), "connection refused"),
        (TimeoutError(), "TimeoutError"),
        (ValueError("not JSON"), "not JSON"),
    ],
)
async def test_failed_live_fetch_keeps_the_disk_copy(
    tmp_path: Path, error: Exception, expected_in_message: str
) -> None:
    save_disk_snapshot(tmp_path, [{"id": "saved/Model"}], FETCHED_AT)
    source = Source()
    source.error = error
    async with ModelCatalog(source, cache_dir=tmp_path) as catalog:
        view = await catalog.get(max_wait_s=WAIT_S)
    assert (view.source, _ids(view.models)) == ("disk", ["saved/Model"])
    assert view.last_error is not None
    assert expected_in_message in view.last_error


async def test_empty_live_list_counts_as_a_failure(tmp_path: Path) -> None:
    async with ModelCatalog(Source(), cache_dir=tmp_path) as catalog:
        view = await catalog.get(max_wait_s=WAIT_S)
    assert view.source == "bundled"
    assert view.last_error is not None
    assert "empty" in view.last_error
    assert not (tmp_path / CACHE_FILE).exists()


async def test_a_change_is_seen_once_the_ttl_has_passed(tmp_path: Path) -> None:
    clock, source = Clock(), Source("a/Old")
    async with ModelCatalog(source, ttl_s=300, cache_dir=tmp_path, clock=clock) as catalog:
        assert _ids((await catalog.get(max_wait_s=WAIT_S)).models) == ["a/Old"]
        source.ids = ["a/New"]
        clock.now += 299
        within = await catalog.get(max_wait_s=WAIT_S)
        clock.now += 1
        after = await catalog.get(max_wait_s=WAIT_S)
    assert (within.source, _ids(within.models)) == ("cache", ["a/Old"])
    assert (after.source, _ids(after.models)) == ("live", ["a/New"])
    assert source.calls == 2


async def test_stale_copy_is_served_while_the_refresh_runs(tmp_path: Path) -> None:
    clock, source = Clock(), Source("a/Old")
    async with ModelCatalog(source, ttl_s=300, cache_dir=tmp_path, clock=clock) as catalog:
        await catalog.get(max_wait_s=WAIT_S)
        source.ids, source.gate = ["a/New"], anyio.Event()
        clock.now += 301
        stale = await catalog.get()
        source.gate.set()
        fresh = await catalog.get(max_wait_s=WAIT_S)
    assert (stale.source, stale.stale, _ids(stale.models)) == ("cache", True, ["a/Old"])
    assert (fresh.source, fresh.stale, _ids(fresh.models)) == ("live", False, ["a/New"])
    assert source.calls == 2  # one refresh in flight at a time


async def test_startup_never_waits_on_the_network(tmp_path: Path) -> None:
    source = Source("a/Never")
    source.gate = anyio.Event()  # the network never answers
    async with ModelCatalog(source, cache_dir=tmp_path) as catalog:
        view = await catalog.get()
    assert view.source == "bundled"
    assert source.calls == 1  # the background refresh had started and was abandoned at exit


async def test_failures_back_off_before_the_next_attempt(tmp_path: Path) -> None:
    clock, source = Clock(), Source("a/Model")
    source.error = ConnectionError("down")
    async with ModelCatalog(source, cache_dir=tmp_path, failure_backoff_s=30, clock=clock) as catalog:
        await catalog.get(max_wait_s=WAIT_S)
        await catalog.get(max_wait_s=WAIT_S)
        calls_during_backoff = source.calls
        clock.now += 30
        source.error = None
        view = await catalog.get(max_wait_s=WAIT_S)
    assert calls_during_backoff == 1
    assert (view.source, view.last_error, source.calls) == ("live", None, 2)


async def test_ttl_zero_fetches_every_time(tmp_path: Path) -> None:
    source = Source("a/Model")
    async with ModelCatalog(source, ttl_s=0, cache_dir=tmp_path) as catalog:
        first = await catalog.get(max_wait_s=WAIT_S)
        second = await catalog.get(max_wait_s=WAIT_S)
    assert (first.source, second.source, source.calls) == ("live", "live", 2)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        "[]",
        '{"fetched_at": "yesterday", "data": []}',
        '{"fetched_at": "2026-02-18T00:00:00+00:00"}',
    ],
)
async def test_unreadable_disk_copy_falls_back_to_bundled(tmp_path: Path, content: str) -> None:
    (tmp_path / CACHE_FILE).write_text(content, encoding="utf-8")
    async with ModelCatalog(None, cache_dir=tmp_path) as catalog:
        assert (await catalog.get()).source == "bundled"


def test_disk_copy_is_replaced_whole(tmp_path: Path) -> None:
    cache_dir = tmp_path / "nested" / "dir"
    save_disk_snapshot(cache_dir, [{"id": "a/One"}], FETCHED_AT)
    save_disk_snapshot(cache_dir, [{"id": "b/Two"}], FETCHED_AT)
    assert [path.name for path in cache_dir.iterdir()] == [CACHE_FILE]
    assert json.loads((cache_dir / CACHE_FILE).read_text("utf-8"))["data"] == [{"id": "b/Two"}]


def test_negative_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="TTL"):
        ModelCatalog(None, ttl_s=-1)
