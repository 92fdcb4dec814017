"""`pick_model`: recommend catalog models for a task, with reasons and a ready failover list."""

from __future__ import annotations

from pydantic import Field

from chutes_mcp.chutes.catalog.filters import ModelFilter
from chutes_mcp.chutes.catalog.picker import PRESETS, PickRequest, PickResult, pick_models
from chutes_mcp.chutes.catalog.presets import Preset, Selector
from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.toolkit import READ_ONLY, Reply, ToolArguments, ToolContext, ToolSpec
from chutes_mcp.server.tools.catalog_support import catalog_filter, provenance

_TASKS = "; ".join(f"{name}: {spec.summary}" for name, spec in PRESETS.items())


class PickModelArgs(ToolArguments, ModelFilter):
    """A task preset plus the hard constraints of list_models."""

    task: Preset = Field("general", description=f"The task preset. {_TASKS}.")
    k: int = Field(3, ge=1, le=10, description="How many models to recommend.")
    selector: Selector = Field(
        "failover",
        description="Style of the routing string: failover (try in order), latency or throughput "
        "(Chutes ranks the picks by time to first token or tokens per second).",
    )


def _text(result: PickResult) -> str:
    head = (
        f"Task {result.task}: {result.eligible} of {result.considered} models eligible "
        f"({provenance(result.source, result.fetched_at, result.stale)})."
    )
    if not result.picks:
        rejected = ", ".join(f"{reason} {count}" for reason, count in result.rejected.items())
        return f"{head}\nNo model meets the constraints (left out: {rejected}). Relax a constraint."
    lines = [head]
    for pick in result.picks:
        lines.append(f"{pick.rank}. {pick.id} (score {pick.score:.2f}): " + "; ".join(pick.reasons[:3]))
    lines.append(f"Send as chat `model` for failover: {result.routing}")
    return "\n".join(lines)


async def pick_model(runtime: Runtime, args: PickModelArgs, ctx: ToolContext) -> Reply[PickResult]:
    view = await runtime.catalog_view()
    request = PickRequest(
        task=args.task, constraints=catalog_filter(args, runtime, view), k=args.k, selector=args.selector
    )
    result = pick_models(view, request)
    return Reply(result, _text(result))


SPEC = ToolSpec(
    name="pick_model",
    title="Pick a Chutes model",
    description="Recommend models for a task preset (general, coding, reasoning, vision, long_context, "
    "tool_use, json, cheap, private) under hard constraints such as tee_only, with the reasons for each "
    "and a routing string to pass to chat as `model`.",
    args=PickModelArgs,
    output=PickResult,
    annotations=READ_ONLY,
    body=pick_model,
)
