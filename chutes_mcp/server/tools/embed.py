"""`embed`: embedding vectors for one text or many; the vectors go in structuredContent, a summary in text.

Vectors travel as floats while they are few, and as base64 float32 (a quarter of the bytes) beyond; a
call whose vectors would not fit in one tool result is refused before anything is sent, with how many
inputs do fit, so the agent can split it.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from chutes_mcp.chutes.embeddings import vectors as embedding_vectors
from chutes_mcp.chutes.embeddings.batches import BATCH_SIZE, embed_in_batches
from chutes_mcp.chutes.errors import BadRequestError, ModelNotFoundError
from chutes_mcp.chutes.types import Usage
from chutes_mcp.server.result_size import MAX_RESULT_BYTES, MIB, ResultTooLargeError
from chutes_mcp.server.runtime import CATALOG_WAIT_S, Runtime
from chutes_mcp.server.toolkit import READ_ONLY, Reply, ToolArguments, ToolContext, ToolSpec

MAX_INPUTS = 1024
PREVIEW_VALUES = 4
PREVIEW_VECTORS = 3
# Chutes publishes per-token prices for LLMs only; embedding chutes are not in /v1/models.
NO_PRICE = "Chutes publishes no per-token price for embedding models, so the cost cannot be computed here."

Encoding = Literal["float", "base64"]
# `auto` sends plain floats while they stay small (up to 16 vectors of 4096 values, 64 of 1024: about
# 1.5 MiB of JSON) and base64 beyond, where floats would cost four times the bytes of the same vectors.
AUTO_FLOAT_MAX_VALUES = 65_536
# Bytes of one value in the float form, at most: the SDK's serializer (pydantic) writes a float32 read
# as a double with up to 17 significant digits, at most 24 characters (`-0.000012345678901234568`,
# found over every float32 exponent), and a comma.
FLOAT_VALUE_MAX_BYTES = 25
# What a result holds besides its vectors (the summary, model, usage, a few dozen invocation ids, the
# cost note, JSON keys), with room to spare.
RESULT_RESERVE_BYTES = 16 * 1024
# The shorter length the hint offers: what Matryoshka models (Qwen3-Embedding) are commonly cut to.
SMALLER_DIMENSIONS = 1024

Text = Annotated[str, Field(min_length=1)]


def vector_bytes(dimensions: int, encoding: Encoding) -> int:
    """Serialized bytes of one vector in the result: exact for base64, an upper bound for floats."""
    if encoding == "base64":
        return 4 * math.ceil(dimensions * embedding_vectors.BYTES_PER_VALUE / 3) + len('"",')
    return dimensions * FLOAT_VALUE_MAX_BYTES + len("[],")


def inputs_that_fit(dimensions: int, encoding: Encoding) -> int:
    """How many vectors of `dimensions` values one result carries in `encoding`, within the bound."""
    return (MAX_RESULT_BYTES - RESULT_RESERVE_BYTES) // vector_bytes(dimensions, encoding)


def choose_encoding(requested: Encoding | Literal["auto"], count: int, dimensions: int) -> Encoding:
    if requested != "auto":
        return requested
    return "float" if count * dimensions <= AUTO_FLOAT_MAX_VALUES else "base64"


def check_fits(count: int, dimensions: int, encoding: Encoding, *, sent: bool) -> None:
    """Raise `result_too_large` when `count` vectors of `dimensions` values would not fit in `encoding`;
    the hint says how many do, in this encoding and in the more compact ones. `sent`: some texts were
    embedded (and billed) already, which the message owns up to."""
    fit = inputs_that_fit(dimensions, encoding)
    if count <= fit:
        return
    options = (
        [f"split the {count} inputs into {math.ceil(count / fit)} calls of at most {fit} each"] if fit else []
    )
    if encoding == "float":
        options.append(f'use encoding_format "base64" ({inputs_that_fit(dimensions, "base64")} fit)')
    if dimensions > SMALLER_DIMENSIONS:
        smaller = inputs_that_fit(SMALLER_DIMENSIONS, "base64")
        options.append(f"ask for dimensions={SMALLER_DIMENSIONS} if the model allows it ({smaller} fit)")
    done = " The first batch was embedded before the model's vector length was known." if sent else ""
    raise ResultTooLargeError(
        f"{count} vectors of {dimensions} dimensions in {encoding} would pass the "
        f"{MAX_RESULT_BYTES // MIB} MiB one tool result may carry; at most {fit} fit.{done}",
        "To fit: " + "; or ".join(options) + "." if options else "Ask for fewer `dimensions`.",
        max_inputs=fit,
        dimensions=dimensions,
        encoding=encoding,
    )


class EmbedArgs(ToolArguments):
    input: Text | Annotated[list[Text], Field(min_length=1, max_length=MAX_INPUTS)] = Field(
        description=f"A text, or a list of up to {MAX_INPUTS} texts (sent {BATCH_SIZE} per request). "
        "One result carries at most 8 MiB: at 4096 dimensions that is 383 vectors in base64.",
    )
    model: str | None = Field(
        None,
        max_length=300,
        description="Embedding model, e.g. `Qwen/Qwen3-Embedding-8B` or `BAAI/bge-m3` (any case; org and "
        "`-TEE` optional for known models). Any other embedding chute's name is sent to Chutes as given. "
        "Default: the server's CHUTES_DEFAULT_EMBEDDING_MODEL.",
    )
    dimensions: int | None = Field(
        None, ge=1, description="Shorter vectors (Matryoshka models), at most the model's own length."
    )
    encoding_format: Literal["auto", "float", "base64"] = Field(
        "auto",
        description="How vectors are written: `float` (lists of numbers), `base64` (each vector a "
        "base64 string of little-endian float32, as OpenAI's API encodes it: "
        '`numpy.frombuffer(base64.b64decode(s), dtype="<f4")`), or `auto`: float up to '
        f"{AUTO_FLOAT_MAX_VALUES:,} values in all (count x dimensions), base64 beyond.",
    )
    tee_only: bool = Field(
        False, description="Only a model running in a TEE (the TEE twin when there is one)."
    )


class EmbedOutput(BaseModel):
    model: str = Field(description="The embedding model used.")
    tee: bool | None = Field(
        description="It runs in a TEE; null when not known (a model outside the known list, called "
        "without TEE-only)."
    )
    count: int = Field(description="Number of vectors, one per input text, in input order.")
    dimensions: int = Field(description="Length of each vector.")
    encoding: Encoding = Field(
        description="How `vectors` are written: `float` (lists of numbers) or `base64` (strings of "
        "little-endian float32)."
    )
    vectors: list[list[float]] | list[str] = Field(description="The embeddings, in input order.")
    batches: int = Field(description=f"Requests made ({BATCH_SIZE} texts each at most).")
    usage: Usage | None = Field(description="Tokens counted by Chutes over all requests.")
    cost_usd: float | None = Field(description="Cost in USD, or null when it cannot be known.")
    cost_note: str | None = Field(description="Why cost_usd is null.")
    invocation_ids: list[str] = Field(description="Chutes invocation ids of the requests.")


def _text(output: EmbedOutput, previews: list[list[float]]) -> str:
    noun = "vector" if output.count == 1 else "vectors"
    lines = [
        f"{output.count} {noun} of {output.dimensions} dimensions from {output.model} "
        f"(in structuredContent.vectors as {output.encoding}; {output.batches} request(s))."
    ]
    for number, vector in enumerate(previews, start=1):
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
    tee_only = args.tee_only or runtime.settings.tee_only
    catalog, _ = await runtime.embeddings.catalog(max_wait_s=CATALOG_WAIT_S)
    route = catalog.route(name, tee_only=tee_only)
    if args.dimensions is not None and route.dimensions is not None and args.dimensions > route.dimensions:
        raise BadRequestError(
            f"dimensions {args.dimensions} is more than {route.model_id} gives ({route.dimensions})",
            hint=f"Ask for at most {route.dimensions} dimensions, or leave `dimensions` out.",
        )
    texts = [args.input] if isinstance(args.input, str) else args.input
    expected = args.dimensions or route.dimensions
    # Refused before anything is sent (and billed) when the length is known; checked again on the
    # length the first batch shows, which is all there is to go on for a model never seen answering.
    if expected is not None:
        encoding = choose_encoding(args.encoding_format, len(texts), expected)
        check_fits(len(texts), expected, encoding, sent=False)

    def dimensions_known(dimensions: int) -> None:
        if args.dimensions is None:
            runtime.embeddings.learn(route.model_id, dimensions)
        encoding = choose_encoding(args.encoding_format, len(texts), dimensions)
        check_fits(len(texts), dimensions, encoding, sent=True)

    async def progress(done: int, total: int) -> None:
        await ctx.report_progress(done, total, f"embedded {done} of {total} texts")

    try:
        result = await embed_in_batches(
            runtime.client,
            route,
            texts,
            dimensions=args.dimensions,
            tee_only=tee_only,
            on_batch=progress,
            on_dimensions=dimensions_known,
        )
    except ModelNotFoundError as exc:
        if route.listed:
            raise
        # Chutes does not know the name either: say which models come nearest, as for a known typo.
        raise catalog.not_found(
            name, tee_only=tee_only, status=exc.status, invocation_id=exc.invocation_id
        ) from None
    encoding = choose_encoding(args.encoding_format, len(result.vectors), result.dimensions)
    previews = [embedding_vectors.to_floats(vector) for vector in result.vectors[:PREVIEW_VECTORS]]
    vectors: list[list[float]] | list[str] = (
        [embedding_vectors.to_floats(vector) for vector in result.vectors]
        if encoding == "float"
        else [embedding_vectors.to_base64(vector) for vector in result.vectors]
    )
    output = EmbedOutput(
        model=route.model_id,
        tee=route.tee,
        count=len(result.vectors),
        dimensions=result.dimensions,
        encoding=encoding,
        vectors=vectors,
        batches=result.batches,
        usage=result.usage,
        cost_usd=None,
        cost_note=NO_PRICE,
        invocation_ids=result.invocation_ids,
    )
    return Reply(output, _text(output, previews))


SPEC = ToolSpec(
    name="embed",
    title="Embed texts",
    description="Embedding vectors for a text or a list of texts with a Chutes embedding model "
    "(default Qwen3-Embedding-8B). Vectors are in the structured result, as floats or compact base64 "
    "(`encoding_format`); the text shows only a summary. A result carries at most 8 MiB: past it the "
    "call fails with `result_too_large` and says how many inputs fit.",
    args=EmbedArgs,
    output=EmbedOutput,
    annotations=READ_ONLY,  # same texts, same vectors
    body=embed,
)
