"""The embedding catalog: bundled models, listed chutes, config entries, name forms and routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from chutes_mcp.chutes.embeddings.catalog import EmbeddingCatalog, EmbeddingModel, chute_base_url, chute_slug
from chutes_mcp.chutes.embeddings.directory import EmbeddingDirectory, embedding_chutes_from_raw
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


@pytest.mark.parametrize(
    ("embed_base", "chute_base"),
    [
        ("https://embed.chutes.ai/v1", "https://chutes-baai-bge-m3.chutes.ai/v1"),
        ("https://embed.example.com:8443/v1", "https://chutes-baai-bge-m3.example.com:8443/v1"),
        ("http://127.0.0.1:8089/embed/v1", "http://127.0.0.1:8089/chute/chutes-baai-bge-m3/v1"),
        ("https://proxy.example.com/v1", None),
    ],
)
def test_chute_base_url(embed_base: str, chute_base: str | None) -> None:
    assert chute_base_url(embed_base, "chutes-baai-bge-m3") == chute_base


def test_embedding_chutes_from_a_listing() -> None:
    raw = [
        {"name": "zai-org/GLM-4.7", "slug": "chutes-zai-org-glm-4-7", "standard_template": "vllm"},
        {
            "name": "Qwen/Qwen3-Embedding-4B",
            "slug": "chutes-qwen-qwen3-embedding-4b",
            "standard_template": "embedding",
        },
        {"name": "me/Old-Embedder", "slug": "me-old-embedder-a1b2c", "standard_template": "tei", "tee": True},
        {"name": "", "slug": "x", "standard_template": "embedding"},
        {"slug": "no-name", "standard_template": "tei"},
    ]
    models = embedding_chutes_from_raw(raw)
    assert [(m.id, m.slug, m.template, m.tee, m.dimensions, m.source) for m in models] == [
        ("Qwen/Qwen3-Embedding-4B", "chutes-qwen-qwen3-embedding-4b", "embedding", False, None, "discovered"),
        ("me/Old-Embedder", "me-old-embedder-a1b2c", "tei", True, None, "discovered"),
    ]


def test_listed_chutes_join_the_catalog() -> None:
    discovered = embedding_chutes_from_raw(
        [
            {"name": "BAAI/bge-m3", "slug": "chutes-baai-bge-m3-x9y8z", "standard_template": "embedding"},
            {"name": "Qwen/Qwen3-Embedding-4B", "slug": "q4", "standard_template": "embedding"},
            {"name": "me/Old-Embedder", "slug": "me-old-embedder-a1b2c", "standard_template": "tei"},
        ]
    )
    catalog = EmbeddingCatalog(discovered=discovered, learned={"Qwen/Qwen3-Embedding-4B": 2560})
    bge = catalog.route("bge-m3")
    # The listing's slug, the bundled length.
    assert (bge.model_id, bge.dimensions, bge.kind, bge.listed) == ("BAAI/bge-m3", 1024, "embed", True)
    assert catalog.resolve("bge-m3").slug == "chutes-baai-bge-m3-x9y8z"
    assert catalog.route("qwen3-embedding-4b").dimensions == 2560
    old = catalog.route("old-embedder")
    assert (old.kind, old.slug, old.dimensions) == ("chute", "me-old-embedder-a1b2c", None)


def test_unlisted_names_are_routed_as_given() -> None:
    catalog = EmbeddingCatalog(learned={"org/Seen-Before": 768})
    route = catalog.route("  org/Some-Embedder ")
    assert (route.model_id, route.model, route.listed, route.dimensions, route.tee) == (
        "org/Some-Embedder",
        "org/Some-Embedder",
        False,
        None,
        None,
    )
    assert catalog.route("org/Seen-Before").dimensions == 768
    assert catalog.route("org/Some-Embedder", tee_only=True).tee is True
    with pytest.raises(TeeRequiredError):
        catalog.route("bge-m3", tee_only=True)
    error = catalog.not_found("BAAI/bge-m4", status=404)
    assert (error.code, error.status) == ("model_not_found", 404)
    assert "BAAI/bge-m3" in error.message


@pytest.mark.anyio
async def test_directory_without_a_source_serves_the_bundled_list(tmp_path: Path) -> None:
    async with EmbeddingDirectory(None, ttl_s=300, cache_dir=tmp_path) as directory:
        catalog, copy = await directory.catalog()
        directory.learn("org/New", 512)
        again, _ = await directory.catalog()
    assert copy.origin == "bundled"
    assert [m.source for m in catalog.models()] == ["bundled"] * 6
    assert again.route("org/New").dimensions == 512


@pytest.mark.anyio
async def test_directory_keeps_a_live_listing_on_disk(tmp_path: Path) -> None:
    async def fetch() -> list[dict[str, object]]:
        return [{"name": "Qwen/Qwen3-Embedding-4B", "slug": "q4", "standard_template": "embedding"}]

    async with EmbeddingDirectory(fetch, ttl_s=300, cache_dir=tmp_path) as directory:
        catalog, copy = await directory.catalog(max_wait_s=5)
    assert copy.origin == "live"
    assert catalog.route("qwen3-embedding-4b").listed
    async with EmbeddingDirectory(None, ttl_s=300, cache_dir=tmp_path) as offline:
        _, saved = await offline.catalog()
    assert (saved.origin, [m.id for m in saved.models]) == ("disk", ["Qwen/Qwen3-Embedding-4B"])
