"""`get_model`: everything the catalog says about one model, and the aliases that lead to it."""

from __future__ import annotations

from pydantic import Field

from chutes_mcp.chutes.catalog.details import ModelDetails, model_details
from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.toolkit import READ_ONLY, Reply, ToolArguments, ToolContext, ToolSpec
from chutes_mcp.server.tools.catalog_support import provenance, usd


class GetModelArgs(ToolArguments):
    model: str = Field(
        min_length=1,
        max_length=300,
        description="A model id, alias, name without the org, with or without `-TEE`, or `chutes/<id>`; "
        "e.g. `zai-org/GLM-4.7-TEE`, `chutes-default`, `glm-4.7`.",
    )
    tee_only: bool = Field(False, description="Resolve to a TEE model only (the TEE twin when there is one).")


def _text(details: ModelDetails) -> str:
    model = details.model
    tee = {True: "runs in a TEE", False: "no TEE", None: "TEE unknown"}[model.tee]
    context = "?" if model.context_length is None else f"{model.context_length:,}"
    features = "?" if model.features is None else ", ".join(model.features) or "none"
    lines = [
        f"{model.id} ({tee}); context {context} tokens; "
        f"{usd(model.prices.prompt)} in / {usd(model.prices.completion)} out per 1M tokens; features: {features}.",
    ]
    if model.id != details.requested:
        lines.append(f"Resolved from {details.requested!r} via {', '.join(details.via)}.")
    if details.note:
        lines.append(details.note)
    if details.aliases:
        lines.append(f"Aliases: {', '.join(details.aliases)}.")
    lines.append(f"From the {provenance(details.source, details.fetched_at, details.stale)}.")
    return "\n".join(lines)


async def get_model(runtime: Runtime, args: GetModelArgs, ctx: ToolContext) -> Reply[ModelDetails]:
    details = model_details(
        await runtime.catalog_view(),
        runtime.resolver,
        args.model,
        tee_only=args.tee_only or runtime.settings.tee_only,
    )
    return Reply(details, _text(details))


SPEC = ToolSpec(
    name="get_model",
    title="Get a Chutes model",
    description="Everything the catalog says about one model (prices per 1M tokens, context, output "
    "limit, features, modalities, TEE) and the aliases that point to it. Accepts ids, aliases and "
    "short names; an unknown name gets the nearest ids.",
    args=GetModelArgs,
    output=ModelDetails,
    annotations=READ_ONLY,
    body=get_model,
)
