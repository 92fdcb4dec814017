"""Which chutes a `model` string names on the llm host (reference §3.1 steps 3 and 10).

Order: an exact chute name or chute_id (after the silent rewrites and TEE re-routes); else the string
without a `:latency` / `:throughput` suffix; a comma list `a,b,c` is an ordered failover list (unknown
members are skipped); otherwise a per-user alias from `/model_aliases/`. The simulator keeps no
latency or throughput history, so `:latency` and `:throughput` keep the given order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chutes_mcp.sim.catalog import Catalog
from chutes_mcp.sim.state import UserAlias

_RANKING_SUFFIXES = (":latency", ":throughput")


def candidates(name: str, catalog: Catalog, aliases: Mapping[str, UserAlias]) -> list[dict[str, Any]]:
    """The chutes to try in order; empty when nothing matches (a 404 `model not found`)."""
    exact = _lookup(name, catalog)
    if exact is not None:
        return [exact]
    for suffix in _RANKING_SUFFIXES:
        name = name.removesuffix(suffix)
    members = [part.strip() for part in name.split(",") if part.strip()]
    if len(members) > 1:
        return [entry for entry in (_lookup(member, catalog) for member in members) if entry is not None]
    single = _lookup(name, catalog)
    if single is not None:
        return [single]
    alias = aliases.get(name)
    if alias is None:
        return []
    return [entry for entry in (catalog.get(chute) for chute in alias.chute_ids) if entry is not None]


def _lookup(name: str, catalog: Catalog) -> dict[str, Any] | None:
    return catalog.get(name) or catalog.get(catalog.rewrite(name))
