"""Catalog pages, cursors, id completion and model families on the bundled 2026-02-18 snapshot."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chutes_mcp.chutes.catalog.browse import browse_models, complete_ids, search_key
from chutes_mcp.chutes.catalog.details import family, same_family, second_opinion_pick
from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.service import CatalogView, bundled_snapshot
from chutes_mcp.chutes.errors import InvalidCursorError

VIEW = CatalogView(snapshot=bundled_snapshot(), source="bundled", stale=True, last_error=None)
ANY = ModelFilter()


def _cursor(content: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(content).encode()).decode().rstrip("=")


def test_pages_cover_the_listing_once_in_order() -> None:
    seen: list[str] = []
    page = browse_models(VIEW, ANY, sort="id", limit=9)
    seen += [row["id"] for row in page.models]
    while page.next_cursor:
        page = browse_models(VIEW, ANY, sort="id", limit=9, cursor=page.next_cursor)
        seen += [row["id"] for row in page.models]
    assert seen == sorted((model.id for model in VIEW.models), key=str.lower)


def test_a_cursor_survives_a_refresh_that_changed_nothing_it_lists() -> None:
    """Tied to what the catalog holds, not to when it was fetched: the same catalog fetched again (in
    this process or in the next `chutes-mcp call`) takes the cursor."""
    cursor = browse_models(VIEW, ANY, limit=5).next_cursor
    refetched = replace(VIEW.snapshot, fetched_at=datetime(2026, 3, 1, tzinfo=UTC), derived={})
    later = CatalogView(snapshot=refetched, source="live", stale=False, last_error=None)
    assert (
        browse_models(later, ANY, limit=5, cursor=cursor).models
        == browse_models(VIEW, ANY, limit=5, cursor=cursor).models
    )


def test_a_cursor_is_refused_once_the_models_it_lists_changed() -> None:
    cursor = browse_models(VIEW, ANY, limit=5).next_cursor
    changed = replace(VIEW.snapshot, models=VIEW.models[1:], derived={})
    later = CatalogView(snapshot=changed, source="live", stale=False, last_error=None)
    with pytest.raises(InvalidCursorError, match="changed since the cursor was issued"):
        browse_models(later, ANY, limit=5, cursor=cursor)
    # A change outside the listing moves none of its pages.
    tee_cursor = browse_models(VIEW, ModelFilter(tee_only=True), limit=5).next_cursor
    without_a_plain_model = tuple(m for m in VIEW.models if m.id != "Qwen/Qwen3-32B")
    assert len(without_a_plain_model) == len(VIEW.models) - 1
    other = CatalogView(
        snapshot=replace(VIEW.snapshot, models=without_a_plain_model, derived={}),
        source="live",
        stale=False,
        last_error=None,
    )
    assert browse_models(other, ModelFilter(tee_only=True), limit=5, cursor=tee_cursor).offset == 5


@pytest.mark.parametrize("offset", [0, -3, 10_000, "5", True])
def test_a_tampered_offset_is_refused(offset: object) -> None:
    issued = browse_models(VIEW, ANY, limit=5).next_cursor
    assert issued is not None
    content = json.loads(base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4)))
    with pytest.raises(InvalidCursorError) as caught:
        browse_models(VIEW, ANY, limit=5, cursor=_cursor({**content, "o": offset}))
    assert caught.value.code == "invalid_cursor"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("GLM 4.7", "zai-org/GLM-4.7-TEE"),
        ("glm4.7 flash", "zai-org/GLM-4.7-Flash"),
        ("kimi k2.5", "moonshotai/Kimi-K2.5-TEE"),
    ],
)
def test_query_words_ignore_case_and_punctuation(query: str, expected: str) -> None:
    assert expected in [row["id"] for row in browse_models(VIEW, ANY, query=query, limit=100).models]
    assert search_key("GLM-4.7") == "glm47"


def test_completion_prefers_id_then_short_name_then_substring() -> None:
    ids = complete_ids(VIEW, "qwen3-c", tee_only=False)
    assert ids[0].startswith("Qwen/Qwen3-Coder")
    assert complete_ids(VIEW, "GLM-4.7", tee_only=True) == ["zai-org/GLM-4.7-TEE"]
    assert "unsloth/Mistral-Small-24B-Instruct-2501" in complete_ids(VIEW, "small", tee_only=False)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("deepseek-ai/DeepSeek-V3.2-TEE", "deepseek-ai/DeepSeek-R1-TEE", True),
        ("deepseek-ai/DeepSeek-V3.2-TEE", "tngtech/DeepSeek-TNG-R1T2-Chimera", True),
        ("Qwen/Qwen3-32B", "zai-org/GLM-4.7-TEE", False),
        ("unsloth/gemma-3-4b-it", "unsloth/Mistral-Nemo-Instruct-2407", True),
    ],
)
def test_families(first: str, second: str, same: bool) -> None:
    assert same_family(first, second) is same
    assert family("zai-org/GLM-4.7-TEE") == ("zai-org", "glm")


def test_second_opinion_comes_from_another_family() -> None:
    pick = second_opinion_pick(VIEW, "openai/gpt-oss-120b-TEE", tee_only=True)
    assert pick is not None
    assert pick.tee is True
    assert not same_family(pick.id, "openai/gpt-oss-120b-TEE")
