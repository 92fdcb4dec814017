"""Embedding models: a catalog of their own, because `/v1/models` lists LLMs only.

Two routes reach an embedding chute: the embed host (`embed.chutes.ai/v1/embeddings`, `model` required) and
the chute's own host (`<slug>.chutes.ai/v1/embeddings`, `model` optional), which is what most integrations
use. Public chutes are owned by user `chutes`, so their slug is `chutes-<slugified lowercased id>`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chutes_mcp.chutes.catalog.naming import NameEntry, NameIndex
from chutes_mcp.chutes.errors import ModelNotFoundError, TeeRequiredError

EmbeddingRouteKind = Literal["chute", "embed"]

_SLUG_MAX_CHARS = 58  # Chutes: slugify(f"{username}-{chute_name}", max_length=58)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def chute_slug(model_id: str, owner: str = "chutes") -> str:
    """The per-chute host label Chutes derives from owner and name, e.g. `chutes-baai-bge-m3`."""
    slug = _NOT_SLUG.sub("-", f"{owner}-{model_id}".lower()).strip("-")
    return slug[:_SLUG_MAX_CHARS].rstrip("-")


class EmbeddingModel(BaseModel):
    """An embedding model and where it is served."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="The chute name, e.g. `Qwen/Qwen3-Embedding-8B`.")
    dimensions: int = Field(gt=0, description="Length of the vectors it returns (without `dimensions`).")
    tee: bool = Field(False, description="Runs in a TEE.")
    slug: str = Field(min_length=1, description="Per-chute host label; derived from the id when not given.")
    source: Literal["bundled", "config"] = Field(
        "config", description="Shipped with chutes-mcp or from config."
    )

    @model_validator(mode="before")
    @classmethod
    def _derive_slug(cls, data: Any) -> Any:
        # Chutes adds a random suffix on slug collisions, so config may give the real slug instead.
        if isinstance(data, dict) and not data.get("slug") and isinstance(data.get("id"), str):
            return {**data, "slug": chute_slug(data["id"])}
        return data


class EmbeddingRoute(BaseModel):
    """Where to POST `/v1/embeddings` for one model, and what to put in `model`."""

    model_id: str = Field(description="The embedding model.")
    dimensions: int = Field(description="Native vector length.")
    tee: bool = Field(description="Runs in a TEE.")
    kind: EmbeddingRouteKind = Field(
        description="`chute`: the model's own host `<slug>.chutes.ai`; `embed`: the shared embed host."
    )
    slug: str | None = Field(description="The per-chute host label (for kind `chute`).")
    model: str | None = Field(description="Value for the request's `model` field; None means leave it out.")


@cache
def bundled_embedding_models() -> tuple[EmbeddingModel, ...]:
    text = (
        resources.files("chutes_mcp.chutes.embeddings")
        .joinpath("data", "embedding_models.json")
        .read_text("utf-8")
    )
    return tuple(
        EmbeddingModel.model_validate({**entry, "source": "bundled"}) for entry in json.loads(text)["models"]
    )


class EmbeddingCatalog:
    """Bundled embedding models plus config entries (a config entry replaces a bundled one of the same id)."""

    def __init__(self, configured: Iterable[EmbeddingModel] = ()) -> None:
        merged = {model.id.lower(): model for model in bundled_embedding_models()}
        merged.update({model.id.lower(): model for model in configured})
        self._models = tuple(merged.values())
        self._by_id = {model.id: model for model in self._models}
        self._index = NameIndex(NameEntry(model.id, model.tee) for model in self._models)

    def models(self, *, tee_only: bool = False) -> list[EmbeddingModel]:
        return [model for model in self._models if model.tee or not tee_only]

    def resolve(
        self, name: str, *, tee_only: bool = False, route: EmbeddingRouteKind = "chute"
    ) -> EmbeddingRoute:
        """The route for `name` (any case, with or without org or `-TEE`, `chutes/` prefix allowed)."""
        match = self._index.find(name, tee_only=tee_only)
        if match is None:
            nearest = self._index.nearest(name, tee_only=tee_only)
            raise ModelNotFoundError(
                f"embedding model not found: {name.strip()!r}; nearest: {', '.join(nearest) or 'none'}",
                hint="Use one of: " + ", ".join(model.id for model in self.models(tee_only=tee_only)),
            )
        model = self._by_id[match.id]
        if tee_only and not model.tee:
            raise TeeRequiredError(
                f"embedding model {model.id} does not run in a TEE and TEE-only mode is on",
                hint="Use "
                + (", ".join(m.id for m in self.models(tee_only=True)) or "a TEE embedding model"),
            )
        return EmbeddingRoute(
            model_id=model.id,
            dimensions=model.dimensions,
            tee=model.tee,
            kind=route,
            slug=model.slug if route == "chute" else None,
            model=model.id if route == "embed" else None,
        )
