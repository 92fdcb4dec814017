"""The embedding catalog: bundled models, config entries, name forms and routes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chutes_mcp.chutes.embeddings.catalog import EmbeddingCatalog, EmbeddingModel, chute_slug
from chutes_mcp.chutes.errors import ModelNotFoundError, TeeRequiredError


@pytest.mark.parametrize(
    ("model_id", "slug"),
    [
        ("Qwen/Qwen3-Embedding-8B", "chutes-qwen-qwen3-embedding-8b"),
        ("Qwen/Qwen3-Embedding-8B-TEE", "chutes-qwen-qwen3-embedding-8b-tee"),
        ("Qwen/Qwen3-Embedding-0.6B", "chutes-qwen-qwen3-embedding-0-6b"),
        ("BAAI/bge-m3", "chutes-baai-bge-m3"),
        ("BAAI/bge-large-en-v1.5", "chutes-baai-bge-large-en-v1-5"),
        ("intfloat/multilingual-e5-large", "chutes-intfloat-multilingual-e5-large"),
        ("Org/" + "x" * 80, "chutes-org-" + "x" * 47),  # Chutes caps slugs at 58 characters
    ],
)
def test_chute_slug(model_id: str, slug: str) -> None:
    assert chute_slug(model_id) == slug


@pytest.mark.parametrize(
    ("model_id", "dimensions", "tee"),
    [
        ("Qwen/Qwen3-Embedding-8B", 4096, False),
        ("Qwen/Qwen3-Embedding-8B-TEE", 4096, True),
        ("Qwen/Qwen3-Embedding-0.6B", 1024, False),
        ("BAAI/bge-m3", 1024, False),
        ("BAAI/bge-large-en-v1.5", 1024, False),
        ("intfloat/multilingual-e5-large", 1024, False),
    ],
)
def test_bundled_models(model_id: str, dimensions: int, tee: bool) -> None:
    (model,) = [m for m in EmbeddingCatalog().models() if m.id == model_id]
    assert (model.dimensions, model.tee, model.source, model.slug) == (
        dimensions,
        tee,
        "bundled",
        chute_slug(model_id),
    )


@pytest.mark.parametrize(
    ("name", "tee_only", "model_id"),
    [
        ("Qwen/Qwen3-Embedding-8B", False, "Qwen/Qwen3-Embedding-8B"),
        ("qwen/qwen3-embedding-8b", False, "Qwen/Qwen3-Embedding-8B"),
        ("chutes/Qwen/Qwen3-Embedding-8B", False, "Qwen/Qwen3-Embedding-8B"),
        ("qwen3-embedding-8b", False, "Qwen/Qwen3-Embedding-8B"),
        ("Qwen/Qwen3-Embedding-8B", True, "Qwen/Qwen3-Embedding-8B-TEE"),
        ("qwen3-embedding-8b-tee", False, "Qwen/Qwen3-Embedding-8B-TEE"),
        ("bge-m3", False, "BAAI/bge-m3"),
        ("multilingual-e5-large", False, "intfloat/multilingual-e5-large"),
    ],
)
def test_resolve_name_forms(name: str, tee_only: bool, model_id: str) -> None:
    assert EmbeddingCatalog().resolve(name, tee_only=tee_only).model_id == model_id


def test_routes() -> None:
    catalog = EmbeddingCatalog()
    chute = catalog.resolve("bge-m3")
    assert (chute.kind, chute.slug, chute.model, chute.dimensions) == (
        "chute",
        "chutes-baai-bge-m3",
        None,
        1024,
    )
    embed = catalog.resolve("bge-m3", route="embed")
    assert (embed.kind, embed.slug, embed.model) == ("embed", None, "BAAI/bge-m3")


def test_config_entries_add_and_replace() -> None:
    catalog = EmbeddingCatalog(
        [
            EmbeddingModel(id="me/My-Embedder", dimensions=768, slug="me-my-embedder-x1y2z"),
            EmbeddingModel(id="baai/BGE-M3", dimensions=512, tee=True),
        ]
    )
    mine = catalog.resolve("my-embedder")
    assert (mine.slug, mine.dimensions, mine.tee) == ("me-my-embedder-x1y2z", 768, False)
    replaced = catalog.resolve("BAAI/bge-m3", tee_only=True)
    assert (replaced.dimensions, replaced.tee) == (512, True)
    assert [model.id for model in catalog.models(tee_only=True)] == [
        "Qwen/Qwen3-Embedding-8B-TEE",
        "baai/BGE-M3",
    ]


@pytest.mark.parametrize(
    ("name", "tee_only", "error"),
    [
        ("text-embedding-3-small", False, ModelNotFoundError),
        ("bge-m3", True, TeeRequiredError),
        ("BAAI/bge-m3-TEE", False, ModelNotFoundError),
    ],
)
def test_misses(name: str, tee_only: bool, error: type[Exception]) -> None:
    with pytest.raises(error):
        EmbeddingCatalog().resolve(name, tee_only=tee_only)


@pytest.mark.parametrize(
    "entry", [{"id": "", "dimensions": 8}, {"id": "a/B", "dimensions": 0}, {"id": "a/B"}]
)
def test_bad_config_entries_are_refused(entry: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EmbeddingModel.model_validate(entry)
