"""Answers worked out once per catalog copy: which models pass a filter."""

from __future__ import annotations

from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.service import CatalogSnapshot, bundled_snapshot, eligible

BUNDLED = bundled_snapshot()


def fresh_copy() -> CatalogSnapshot:
    return CatalogSnapshot(models=BUNDLED.models, origin="bundled", fetched_at=BUNDLED.fetched_at)


def test_a_filter_is_answered_once_per_copy_and_alike_on_every_copy() -> None:
    tee = ModelFilter(tee_only=True)
    copy = fresh_copy()
    first = eligible(copy, tee)
    assert eligible(copy, tee) is first
    assert eligible(fresh_copy(), tee) == first
    assert [copy.models[position].tee for position in first.positions] == [True] * 21
    assert dict(first.rejected) == {"not_tee": 40}


def test_answers_kept_per_copy_are_bounded_and_stay_right() -> None:
    # Filters come from callers (price caps, context sizes), so a long-lived copy must not grow
    # without bound.
    copy = fresh_copy()
    for tokens in range(1, 500):
        passing = eligible(copy, ModelFilter(min_context=tokens * 1000)).positions
        assert all((copy.models[p].context_length or 0) >= tokens * 1000 for p in passing)
    assert 0 < len(copy.derived) <= 64
    assert eligible(copy, ModelFilter(min_context=128_000)) == eligible(
        fresh_copy(), ModelFilter(min_context=128_000)
    )
