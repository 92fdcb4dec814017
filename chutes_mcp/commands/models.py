"""`chutes-mcp models` and `chutes-mcp pick`: the model catalog and pick_model on the command line."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, get_args

from chutes_mcp.chutes.catalog.presets import PRESET_NAMES, Selector

if TYPE_CHECKING:
    from chutes_mcp.chutes.catalog.filters import ModelList
    from chutes_mcp.chutes.catalog.models import ModelInfo
    from chutes_mcp.chutes.catalog.picker import PickResult
    from chutes_mcp.chutes.catalog.service import CatalogView
    from chutes_mcp.commands import Subcommands
from chutes_mcp.commands import EXIT_USAGE
from chutes_mcp.commands.context import add_chutes_options, chutes_settings
from chutes_mcp.commands.terminal import table as terminal_table
from chutes_mcp.config import ConfigError, Settings

# A command waits this long for the live catalog, then answers from disk or the bundled snapshot.
LIVE_WAIT_S = 5.0
_FEATURES = ("json_mode", "structured_outputs", "tools", "reasoning")


def add_parsers(sub: Subcommands) -> None:
    models = sub.add_parser(
        "models",
        help="list the Chutes LLM catalog",
        description="List Chutes LLMs, most used first. Works offline from the last saved or the bundled catalog.",
    )
    models.add_argument("--tee-only", action="store_true", help="only models running in a TEE")
    models.add_argument(
        "--feature", action="append", choices=_FEATURES, default=[], help="required feature (repeatable)"
    )
    models.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_chutes_options(models)

    pick = sub.add_parser(
        "pick",
        help="recommend models for a task",
        description="Rank catalog models for a task preset, with reasons and a ready routing string.",
    )
    pick.add_argument("--task", choices=PRESET_NAMES, default="general", help="task preset (default general)")
    pick.add_argument("--tee-only", action="store_true", help="only models running in a TEE")
    pick.add_argument(
        "--feature", action="append", choices=_FEATURES, default=[], help="required feature (repeatable)"
    )
    pick.add_argument(
        "-k", type=int, default=3, choices=range(1, 11), metavar="1-10", help="how many (default 3)"
    )
    pick.add_argument(
        "--selector",
        choices=get_args(Selector),
        default="failover",
        help="routing string style (default failover)",
    )
    pick.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_chutes_options(pick)


def run_models(args: argparse.Namespace) -> int:
    import anyio

    from chutes_mcp.chutes.catalog.filters import ModelFilter
    from chutes_mcp.chutes.catalog.service import list_models

    try:
        settings, view = anyio.run(_current_catalog, args)
    except ConfigError as exc:
        sys.stderr.write(f"chutes-mcp models: {exc}\n")
        return EXIT_USAGE
    model_filter = ModelFilter(tee_only=args.tee_only or settings.tee_only, features=tuple(args.feature))
    listing = list_models(view, model_filter)
    sys.stdout.write(listing.model_dump_json(indent=2) + "\n" if args.json else _models_table(listing))
    return 0


def run_pick(args: argparse.Namespace) -> int:
    import anyio

    from chutes_mcp.chutes.catalog.filters import ModelFilter
    from chutes_mcp.chutes.catalog.picker import PickRequest, pick_models

    try:
        settings, view = anyio.run(_current_catalog, args)
    except ConfigError as exc:
        sys.stderr.write(f"chutes-mcp pick: {exc}\n")
        return EXIT_USAGE
    request = PickRequest(
        task=args.task,
        constraints=ModelFilter(tee_only=args.tee_only or settings.tee_only, features=tuple(args.feature)),
        k=args.k,
        selector=args.selector,
    )
    result = pick_models(view, request)
    sys.stdout.write(result.model_dump_json(indent=2) + "\n" if args.json else _pick_table(result))
    return 0 if result.picks else 1


async def _current_catalog(args: argparse.Namespace) -> tuple[Settings, CatalogView]:
    """The live catalog if Chutes answers within LIVE_WAIT_S, else the disk copy or the bundled snapshot."""
    from chutes_mcp.chutes.catalog.service import ModelCatalog
    from chutes_mcp.chutes.client import ChutesClient

    async with chutes_settings(args) as settings, ChutesClient(settings) as client:
        catalog = ModelCatalog(
            client.list_models_raw, ttl_s=settings.cache_ttl_s, cache_dir=settings.catalog_cache_path
        )
        async with catalog:
            return settings, await catalog.get(max_wait_s=LIVE_WAIT_S)


def _price(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _row(model: ModelInfo) -> list[str]:
    return [
        model.id,
        {True: "yes", False: "", None: "?"}[model.tee],
        _count(model.context_length),
        _count(model.max_output_tokens),
        _price(model.prices.prompt),
        _price(model.prices.completion),
        "?" if model.input_modalities is None else ",".join(model.input_modalities),
        "?" if model.features is None else ",".join(model.features),
    ]


def _provenance(source: str, fetched_at: str, stale: bool) -> str:
    return f"source {source}, fetched {fetched_at}" + (" (stale)" if stale else "")


def _models_table(listing: ModelList) -> str:
    header = ["MODEL", "TEE", "CONTEXT", "MAX OUT", "$IN/1M", "$OUT/1M", "INPUT", "FEATURES"]
    table = terminal_table(header, [_row(model) for model in listing.models], sys.stdout)
    when = listing.fetched_at.strftime("%Y-%m-%d %H:%M UTC")
    return table + f"\n{listing.count} models; {_provenance(listing.source, when, listing.stale)}\n"


def _pick_table(result: PickResult) -> str:
    when = result.fetched_at.strftime("%Y-%m-%d %H:%M UTC")
    head = f"task {result.task}: {result.summary}\n{result.eligible} of {result.considered} models eligible; "
    head += _provenance(result.source, when, result.stale) + "\n\n"
    if not result.picks:
        rejected = ", ".join(f"{reason} {count}" for reason, count in result.rejected.items())
        return head + f"no model meets the constraints (left out: {rejected})\n"
    lines = []
    for pick in result.picks:
        lines.append(f"{pick.rank}. {pick.id}  score {pick.score:.3f}")
        lines.extend(f"     - {reason}" for reason in pick.reasons)
    return head + "\n".join(lines) + f"\n\nrouting: {result.routing}\n"
