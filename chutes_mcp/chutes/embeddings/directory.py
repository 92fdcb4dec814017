"""The embedding chutes Chutes lists, kept fresh the way the LLM catalog is.

`/v1/models` never lists embedding models; `GET https://api.chutes.ai/chutes/?include_public=true` lists
every public chute, and those whose `standard_template` is `embedding` (vLLM) or `tei` (the older
Text-Embeddings-Inference template) are the embedding chutes (reference §4). Their vector length is not in
the listing: it comes from the bundled list, or from the model's first answer (`learn`). The list is kept
with the catalog's TTL, disk copy and bundled fallback (`catalog.refresh`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from chutes_mcp.chutes.catalog.refresh import CopyKind, Fetch, Origin, RefreshedCopy
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.embeddings.catalog import EmbeddingCatalog, EmbeddingModel, bundled_embedding_models

EMBEDDING_TEMPLATES = ("embedding", "tei")
CACHE_FILE = "embedding_chutes.json"
DEFAULT_FAILURE_BACKOFF_S = 30.0


@dataclass(frozen=True, eq=False)
class EmbeddingChutes:
    """One copy of the listed embedding chutes (the bundled copy: the bundled models)."""

    models: tuple[EmbeddingModel, ...]
    origin: Origin
    fetched_at: datetime


def embedding_chutes_from_raw(raw: Iterable[Any]) -> tuple[EmbeddingModel, ...]:
    """The embedding chutes among `GET /chutes/` items; an item without a usable name or slug, or that
    is not an object at all (a saved copy of another shape), is skipped."""
    found: dict[str, EmbeddingModel] = {}
    for item in raw:
        if not isinstance(item, dict):
            continue
        template, name, slug = item.get("standard_template"), item.get("name"), item.get("slug")
        if template not in EMBEDDING_TEMPLATES or not isinstance(name, str) or not name.strip():
            continue
        found.setdefault(
            name,
            EmbeddingModel(
                id=name,
                dimensions=None,
                tee=item.get("tee") is True,
                slug=slug if isinstance(slug, str) and slug else None,
                template=template,
                source="discovered",
            ),
        )
    return tuple(found.values())


def _copy(raw: list[dict[str, Any]], origin: Origin, fetched_at: datetime) -> EmbeddingChutes:
    models = embedding_chutes_from_raw(raw)
    if not models:
        raise ValueError("Chutes listed no embedding chutes")
    return EmbeddingChutes(models=models, origin=origin, fetched_at=fetched_at)


@cache
def bundled_chutes() -> EmbeddingChutes:
    text = (
        resources.files("chutes_mcp.chutes.embeddings")
        .joinpath("data", "embedding_models.json")
        .read_text("utf-8")
    )
    as_of = datetime.fromisoformat(json.loads(text)["as_of"]).replace(tzinfo=UTC)
    return EmbeddingChutes(models=bundled_embedding_models(), origin="bundled", fetched_at=as_of)


EMBEDDING_CHUTES = CopyKind(
    name="embedding_chutes", cache_file=CACHE_FILE, parse=_copy, bundled=bundled_chutes
)


def fetch_embedding_chutes(client: ChutesClient) -> Fetch:
    """The live source: the chutes of each embedding template."""

    async def fetch() -> list[dict[str, Any]]:
        return [item for template in EMBEDDING_TEMPLATES for item in await client.list_chutes_raw(template)]

    return fetch


class EmbeddingDirectory(RefreshedCopy[EmbeddingChutes]):
    """The embedding models of one process: listed, bundled and configured, with learned vector lengths.

    Use as `async with EmbeddingDirectory(...) as directory:`; `fetch` None runs on the bundled list.
    """

    def __init__(
        self,
        fetch: Fetch | None,
        *,
        ttl_s: float,
        cache_dir: Path | None = None,
        configured: Iterable[EmbeddingModel] = (),
        failure_backoff_s: float = DEFAULT_FAILURE_BACKOFF_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            EMBEDDING_CHUTES,
            fetch,
            ttl_s=ttl_s,
            cache_dir=cache_dir,
            failure_backoff_s=failure_backoff_s,
            clock=clock,
        )
        self._configured = tuple(configured)
        self._learned: dict[str, int] = {}
        self._learned_version = 0
        self._catalog: tuple[EmbeddingChutes, int, EmbeddingCatalog] | None = None

    async def catalog(self, *, max_wait_s: float = 0.0) -> tuple[EmbeddingCatalog, EmbeddingChutes]:
        """The catalog over the current copy, and that copy (for its origin and age)."""
        copy, _ = await self.current(max_wait_s=max_wait_s)
        built = self._catalog
        if built is None or built[0] is not copy or built[1] != self._learned_version:
            catalog = EmbeddingCatalog(
                self._configured,
                discovered=copy.models if copy.origin != "bundled" else (),
                learned=self._learned,
            )
            built = self._catalog = (copy, self._learned_version, catalog)
        return built[2], copy

    def learn(self, model_id: str, dimensions: int) -> None:
        """Remember the native vector length a model answered with, for the size checks of later calls."""
        if self._learned.get(model_id) != dimensions:
            self._learned[model_id] = dimensions
            self._learned_version += 1
