"""Embedding models: a catalog of their own, because `/v1/models` lists LLMs only.

Two routes reach an embedding chute: the embed host (`embed.chutes.ai/v1/embeddings`, `model` required) and
the chute's own host (`<slug>.chutes.ai/v1/embeddings`, `model` optional), which is what most integrations
use. Public chutes are owned by user `chutes`, so their slug is `chutes-<slugified lowercased id>`.

The catalog is the bundled list (with each model's vector length), the chutes `GET /chutes/` lists
(`directory.py`), config entries, and lengths learned from answers. It is a guide, not a gate: a name it
does not know is sent to Chutes as given (`route`), and only Chutes' 404 makes it `model_not_found`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chutes_mcp.chutes.catalog.naming import NameEntry, NameIndex
from chutes_mcp.chutes.errors import ModelNotFoundError, TeeRequiredError

EmbeddingRouteKind = Literal["chute", "embed"]
EmbeddingSource = Literal["bundled", "discovered", "config"]

_SLUG_MAX_CHARS = 58  # Chutes: slugify(f"{username}-{chute_name}", max_length=58)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def chute_slug(model_id: str, owner: str = "chutes") -> str:
    """The per-chute host label Chutes derives from owner and name, e.g. `chutes-baai-bge-m3`."""
    slug = _NOT_SLUG.sub("-", f"{owner}-{model_id}".lower()).strip("-")
    return slug[:_SLUG_MAX_CHARS].rstrip("-")


def chute_base_url(embed_base: str, slug: str) -> str | None:
    """The chute's own host for a base URL of the embed host: its sibling with the first DNS label `embed`
    swapped for the slug (`https://embed.chutes.ai/v1` -> `https://<slug>.chutes.ai/v1`), or, for a base on
    one port with an `/embed/` path prefix (the simulator's layout), the prefix swapped for `/chute/<slug>`.
    None when the base is laid out neither way."""
    parts = urlsplit(embed_base)
    label, dot, rest = (parts.hostname or "").partition(".")
    if label == "embed" and dot:
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit((parts.scheme, f"{slug}.{rest}{port}", parts.path, "", ""))
    if parts.path == "/embed" or parts.path.startswith("/embed/"):
        path = f"/chute/{slug}" + parts.path.removeprefix("/embed")
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return None


class EmbeddingModel(BaseModel):
    """An embedding model and where it is served."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, description="The chute name, e.g. `Qwen/Qwen3-Embedding-8B`.")
    dimensions: int | None = Field(
        gt=0,
        description="Length of the vectors it returns (without `dimensions`); null until it has answered "
        "once, for a chute only `GET /chutes/` lists.",
    )
    tee: bool = Field(False, description="Runs in a TEE.")
    slug: str = Field(min_length=1, description="Per-chute host label; derived from the id when not given.")
    template: str | None = Field(
        None, description="Chutes' `standard_template`: `embedding` (vLLM) or `tei`; null when not known."
    )
    source: EmbeddingSource = Field(
        "config", description="Shipped with chutes-mcp, listed by Chutes' `GET /chutes/`, or from config."
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
    dimensions: int | None = Field(description="Native vector length; None until the model has answered.")
    tee: bool | None = Field(description="Runs in a TEE; None for a model outside the catalog.")
    listed: bool = Field(description="The catalog knows the model (else its name goes to Chutes as given).")
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
    """Bundled embedding models, then the chutes Chutes lists, then config entries: a later source replaces
    an earlier entry of the same id, keeping a vector length only the earlier one knew. `learned` adds the
    lengths models gave in answers."""

    def __init__(
        self,
        configured: Iterable[EmbeddingModel] = (),
        *,
        discovered: Iterable[EmbeddingModel] = (),
        learned: Mapping[str, int] | None = None,
    ) -> None:
        merged = {model.id.lower(): model for model in bundled_embedding_models()}
        for model in (*discovered, *configured):
            earlier = merged.get(model.id.lower())
            if model.dimensions is None and earlier is not None and earlier.dimensions is not None:
                model = model.model_copy(update={"dimensions": earlier.dimensions})
            merged[model.id.lower()] = model
        self._learned = dict(learned or {})
        self._models = tuple(
            model.model_copy(update={"dimensions": self._learned[model.id]})
            if model.dimensions is None and model.id in self._learned
            else model
            for model in merged.values()
        )
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
            raise self.not_found(name, tee_only=tee_only)
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
            listed=True,
            kind=route,
            slug=model.slug if route == "chute" else None,
            model=model.id if route == "embed" else None,
        )

    def route(self, name: str, *, tee_only: bool = False) -> EmbeddingRoute:
        """The route for `name`: the catalog's when it knows the model (the embed host, or the chute's own
        host for a `tei` chute); otherwise the embed host with the name as given, for Chutes to serve or
        refuse (TEE-only then rests on Chutes' `X-TEE-Only` check)."""
        try:
            listed = self.resolve(name, tee_only=tee_only, route="embed")
        except ModelNotFoundError:
            given = name.strip()
            return EmbeddingRoute(
                model_id=given,
                dimensions=self._learned.get(given),
                tee=True if tee_only else None,
                listed=False,
                kind="embed",
                slug=None,
                model=given,
            )
        # The embed host serves the `embedding` template only: a Text-Embeddings-Inference chute is
        # reached at its own host (reference §1, §4).
        if self._by_id[listed.model_id].template == "tei":
            return self.resolve(name, tee_only=tee_only, route="chute")
        return listed

    def not_found(self, name: str, *, tee_only: bool = False, **details: Any) -> ModelNotFoundError:
        """The `model_not_found` error for `name`, naming the nearest models the catalog knows."""
        nearest = self._index.nearest(name, tee_only=tee_only)
        return ModelNotFoundError(
            f"embedding model not found: {name.strip()!r}; nearest: {', '.join(nearest) or 'none'}",
            hint="Use one of: " + ", ".join(model.id for model in self.models(tee_only=tee_only)),
            **details,
        )
