"""Embedding many texts: split into requests every embedding engine on Chutes accepts, in order.

BATCH_SIZE is 32 texts per request: Text-Embeddings-Inference, the engine of older embedding chutes,
refuses more by default (`max_client_batch_size`), and vLLM-based chutes take any count, so 32 works for
both. Batches run one after another through the shared client, so its rate limiter, retries and
breaker apply to each one, and a long list never turns into a burst. The first batch tells the vectors'
length (`on_dimensions`), which a model outside the known list only reveals by answering, before any
other batch is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.embeddings import vectors as embedding_vectors
from chutes_mcp.chutes.embeddings.catalog import EmbeddingRoute, chute_base_url
from chutes_mcp.chutes.errors import UpstreamError
from chutes_mcp.chutes.types import Usage

BATCH_SIZE = 32

BatchDone = Callable[[int, int], Awaitable[None]]
"""Called after each batch with (texts embedded so far, texts in all)."""

DimensionsKnown = Callable[[int], None]
"""Called once, after the first batch, with the length of its vectors; raising stops the rest."""


@dataclass(frozen=True)
class BatchedEmbedding:
    vectors: list[bytes]  # little-endian float32 each (see embeddings.vectors)
    dimensions: int
    usage: Usage | None  # None when no batch reported usage
    invocation_ids: list[str]
    batches: int


async def embed_in_batches(
    client: ChutesClient,
    route: EmbeddingRoute,
    texts: Sequence[str],
    *,
    dimensions: int | None = None,
    tee_only: bool = False,
    on_batch: BatchDone | None = None,
    on_dimensions: DimensionsKnown | None = None,
) -> BatchedEmbedding:
    vectors: list[bytes] = []
    usages: list[Usage] = []
    invocation_ids: list[str] = []
    starts = range(0, len(texts), BATCH_SIZE)
    base_url = (
        chute_base_url(client.settings.embed_base, route.slug)
        if route.kind == "chute" and route.slug
        else None
    )
    for start in starts:
        batch = texts[start : start + BATCH_SIZE]
        result = await client.embed(
            batch,
            route.model or route.model_id,
            dimensions=dimensions,
            base_url=base_url,
            tee_only=tee_only,
        )
        if len(result.vectors) != len(batch):
            raise UpstreamError(
                f"asked for {len(batch)} embeddings, got {len(result.vectors)}",
                invocation_id=result.meta.invocation_id,
                retryable=True,
            )
        lengths = {len(vector) for vector in result.vectors} | {len(vector) for vector in vectors[:1]}
        if len(lengths) != 1:
            raise UpstreamError(
                "the embeddings differ in length", invocation_id=result.meta.invocation_id, retryable=True
            )
        if not vectors and on_dimensions is not None:
            on_dimensions(embedding_vectors.dimensions(result.vectors[0]))
        vectors.extend(result.vectors)
        usages.extend([result.usage] if result.usage else [])
        invocation_ids.extend([result.meta.invocation_id] if result.meta.invocation_id else [])
        if on_batch is not None:
            await on_batch(len(vectors), len(texts))
    usage = (
        Usage(
            prompt_tokens=sum(u.prompt_tokens for u in usages),
            total_tokens=sum(u.total_tokens for u in usages),
        )
        if usages
        else None
    )
    return BatchedEmbedding(
        vectors=vectors,
        dimensions=embedding_vectors.dimensions(vectors[0]),
        usage=usage,
        invocation_ids=invocation_ids,
        batches=len(starts),
    )
