"""A broken catalog cache on disk (nested too deep for the parser, truncated, not JSON, not UTF-8, the
wrong shape) never takes the server down: it is treated as absent, said once in the log, and replaced by
the next good fetch. A spawned HTTP server against the simulator, driven by the official client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
import pytest
from http_support import http_server
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_support import ERAS, text_of
from sim_process import SimProcess

from chutes_mcp.chutes.catalog.service import CACHE_FILE as MODELS_FILE
from chutes_mcp.chutes.embeddings.directory import CACHE_FILE as EMBEDDINGS_FILE

pytestmark = pytest.mark.anyio

# A guard against a refresh that never comes, not a timing assertion: it takes well under a second.
REWRITE_GUARD_S = 30.0
FETCHED_AT = '"fetched_at": "2026-01-01T00:00:00+00:00"'
BROKEN: dict[str, Callable[[Path], Any]] = {
    "nested too deep": lambda path: path.write_text("[" * 200_000, encoding="utf-8"),
    "data nested too deep": lambda path: path.write_text(
        "{" + FETCHED_AT + ', "data": ' + "[" * 200_000, encoding="utf-8"
    ),
    "entries that are not objects": lambda path: path.write_text(
        "{" + FETCHED_AT + ', "data": [1, "two", null]}', encoding="utf-8"
    ),
    "truncated": lambda path: path.write_text("{" + FETCHED_AT + ', "data": [{"id": "a', encoding="utf-8"),
    "not UTF-8": lambda path: path.write_bytes(b"\xff\xfe{}"),
    "empty": lambda path: path.write_bytes(b""),
}
UNREADABLE_EVENTS = ("catalog_disk_copy_unreadable", "embedding_chutes_disk_copy_unreadable")


def _saved_copy(path: Path) -> list[Any] | None:
    """The entries of a good saved copy at `path`, or None while it is not one."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    data = document.get("data") if isinstance(document, dict) else None
    return (
        data if isinstance(data, list) and data and all(isinstance(entry, dict) for entry in data) else None
    )


@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("broken", list(BROKEN))
async def test_a_broken_cache_is_absent_logged_once_and_rewritten(
    sim: SimProcess, tmp_path: Path, broken: str, era: Literal["auto", "legacy"]
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in (MODELS_FILE, EMBEDDINGS_FILE):
        BROKEN[broken](cache / name)
    with http_server(sim, cache) as server:
        async with (
            httpx2.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(server.url, http_client=http), mode=era) as client,
        ):
            models = await client.call_tool("list_models", {"limit": 3})
            embedded = await client.call_tool("embed", {"input": ["hello"]})
        deadline = time.monotonic() + REWRITE_GUARD_S
        while not all(_saved_copy(cache / name) for name in (MODELS_FILE, EMBEDDINGS_FILE)):
            assert time.monotonic() < deadline, "the broken cache was not rewritten by a good fetch"
            await anyio.sleep(0.05)
        log = "".join(server.log_lines)
    assert not models.is_error, text_of(models)
    assert not embedded.is_error, text_of(embedded)
    for event in UNREADABLE_EVENTS:
        assert log.count(event) == 1, log
    assert "internal" not in log, log
    assert "Traceback" not in log, log
