"""`embed`: embedding vectors for one text or many; the vectors go in structuredContent, a summary in text."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from chutes_mcp.chutes.embeddings.batches import BATCH_SIZE, embed_in_batches
from chutes_mcp.chutes.errors import BadRequestError
from chutes_mcp.chutes.types import Usage
from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.toolkit import READ_ONLY, Reply, ToolArguments, ToolContext, ToolSpec

MAX_INPUTS = 1024
PREVIEW_VALUES = 4
PREVIEW_VECTORS = 3
# Chutes publishes per-token prices for LLMs only; embedding chutes are not in /v1/models.
NO_PRICE = "Chutes publishes no per-token price for embedding models, so the cost cannot be computed here."

Text = Annotated[str, Field(min_length=1)]


class EmbedArgs(ToolArguments):
    input: Text | Annotated[list[Text], Field(min_length=1, max_length=MAX_INPUTS)] = Field(
        description=f"A text, or a list of up to {MAX_INPUTS} texts (sent {BATCH_SIZE} per request).",
    )
    model: str | None = Field(
        None,
        max_length=300,
        description="Embedding model, e.g. `Qwen/Qwen3-Embedding-8B` or `BAAI/bge-m3` (any case; org and "
        "`-TEE` optional). Default: the server's CHUTES_DEFAULT_EMBEDDING_MODEL.",
    )
    dimensions: int | None = Field(
        None, ge=1, description="Shorter vectors (Matryoshka models), at most the model's own length."
    )
    tee_only: bool = Field(
        False, description="Only a model running in a TEE (the TEE twin when there is one)."
    )


class EmbedOutput(BaseModel):
    model: str = Field(description="The embedding model used.")
    tee: bool = Field(description="It runs in a TEE.")
    count: int = Field(description="Number of vectors, one per input text, in input order.")
    dimensions: int = Field(description="Length of each vector.")
    vectors: list[list[float]] = Field(description="The embeddings, in input order.")
    batches: int = Field(description=f"Requests made ({BATCH_SIZE} texts each at most).")
    usage: Usage | None = Field(description="Tokens counted by Chutes over all requests.")
    cost_usd: float | None = Field(description="Cost in USD, or null when it cannot be known.")
    cost_note: str | None = Field(description="Why cost_usd is null.")
    invocation_ids: list[str] = Field(description="Chutes invocation ids of the requests.")


def _text(output: EmbedOutput) -> str:
    noun = "vector" if output.count == 1 else "vectors"
    lines = [
        f"{output.count} {noun} of {output.dimensions} dimensions from {output.model} "
        f"(in structuredContent.vectors; {output.batches} request(s))."
    ]
    for number, vector in enumerate(output.vectors[:PREVIEW_VECTORS], start=1):
        values = ", ".join(f"{value:.4f}" for value in vector[:PREVIEW_VALUES])
        lines.append(f"#{number}: [{values}, ...]")
    if output.count > PREVIEW_VECTORS:
        lines.append(f"... and {output.count - PREVIEW_VECTORS} more.")
    tokens = "unknown" if output.usage is None else f"{output.usage.prompt_tokens:,}"
    lines.append(
        f"Tokens: {tokens}; cost: " + ("unknown" if output.cost_usd is None else f"${output.cost_usd}")
    )
    return "\n".join(lines)


async def embed(runtime: Runtime, args: EmbedArgs, ctx: ToolContext) -> Reply[EmbedOutput]:
    name = args.model or runtime.settings.default_embedding_model
    route = runtime.embeddings.resolve(
        name, tee_only=args.tee_only or runtime.settings.tee_only, route="embed"
    )
    if args.dimensions is not None and args.dimensions > route.dimensions:
        raise BadRequestError(
            f"dimensions {args.dimensions} is more than {route.model_id} gives ({route.dimensions})",
            hint=f"Ask for at most {route.dimensions} dimensions, or leave `dimensions` out.",
        )
    texts = [args.input] if isinstance(args.input, str) else args.input

    async def progress(done: int, total: int) -> None:
        await ctx.report_progress(done, total, f"embedded {done} of {total} texts")

    result = await embed_in_batches(
        runtime.client, route, texts, dimensions=args.dimensions, on_batch=progress
    )
    output = EmbedOutput(
        model=route.model_id,
        tee=route.tee,
        count=len(result.vectors),
        dimensions=len(result.vectors[0]),
        vectors=[list(vector) for vector in result.vectors],
        batches=result.batches,
        usage=result.usage,
        cost_usd=None,
        cost_note=NO_PRICE,
        invocation_ids=result.invocation_ids,
    )
    return Reply(output, _text(output))


SPEC = ToolSpec(
    name="embed",
    title="Embed texts",
    description="Embedding vectors for a text or a list of texts with a Chutes embedding model "
    "(default Qwen3-Embedding-8B). Vectors are in the structured result; the text shows only a summary.",
    args=EmbedArgs,
    output=EmbedOutput,
    annotations=READ_ONLY,  # same texts, same vectors
    body=embed,
)
