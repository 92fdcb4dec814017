"""The catalog service with the real client against the simulator, over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx2
import pytest
from catalog_support import Clock
from client_support import sim_settings
from sim_process import SimProcess, sim_process

from chutes_mcp.chutes.catalog.service import ModelCatalog
from chutes_mcp.chutes.client import ChutesClient

WAIT_S = 30.0  # a guard against hanging, never reached when the code is right


def _ids(models: tuple[object, ...]) -> list[str]:
    return [model.id for model in models]  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_a_replaced_sim_catalog_is_seen_once_the_ttl_has_passed(
    sim: SimProcess, tmp_path: Path
) -> None:
    clock = Clock()
    replacement = {
        "object": "list",
        "data": [
            {"id": "acme/Brand-New-TEE", "max_model_len": 65536, "confidential_compute": True},
            {"id": "acme/Brand-New", "max_model_len": 65536, "confidential_compute": False},
        ],
    }
    async with ChutesClient(sim_settings(sim, tmp_path)) as client:
        catalog = ModelCatalog(client.list_models_raw, ttl_s=300, cache_dir=tmp_path / "cache", clock=clock)
        async with catalog:
            before = await catalog.get(max_wait_s=WAIT_S)
            httpx2.put(f"{sim.url}/_sim/catalog", json=replacement).raise_for_status()
            try:
                clock.now += 299
                within_ttl = await catalog.get(max_wait_s=WAIT_S)
                clock.now += 1
                after_ttl = await catalog.get(max_wait_s=WAIT_S)
            finally:
                httpx2.delete(f"{sim.url}/_sim/catalog").raise_for_status()
    assert (before.source, len(before.models)) == ("live", 61)
    assert (within_ttl.source, _ids(within_ttl.models)) == ("cache", _ids(before.models))
    assert (after_ttl.source, _ids(after_ttl.models)) == ("live", ["acme/Brand-New-TEE", "acme/Brand-New"])
    assert [model.tee for model in after_ttl.models] == [True, False]


@pytest.mark.anyio
async def test_with_the_sim_stopped_answers_come_from_disk(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    with sim_process() as own_sim:
        settings = sim_settings(own_sim, tmp_path, max_retries=0)
        async with (
            ChutesClient(settings) as client,
            ModelCatalog(client.list_models_raw, cache_dir=cache_dir) as catalog,
        ):
            live = await catalog.get(max_wait_s=WAIT_S)
    # the simulator process has exited: its port refuses connections now
    async with (
        ChutesClient(settings) as client,
        ModelCatalog(client.list_models_raw, cache_dir=cache_dir) as catalog,
    ):
        offline = await catalog.get(max_wait_s=WAIT_S)
    assert live.source == "live"
    assert (offline.source, _ids(offline.models), offline.fetched_at) == (
        "disk",
        _ids(live.models),
        live.fetched_at,
    )
    assert offline.last_error is not None
