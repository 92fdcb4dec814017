"""The simulated model catalog: the 2026-02-18 capture (or a replacement) served in Chutes' own shape."""

from __future__ import annotations

import copy
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

CAPTURE_FILE = "models_2026-02-18.json"

# Plain names that the real llm host silently serves from their `-TEE` twin (reference §3.1, the
# February 2026 list plus the newest additions). A rewrite applies only when the twin is in the catalog.
TEE_REROUTES: tuple[str, ...] = (
    "deepseek-ai/DeepSeek-V3.2",
    "deepseek-ai/DeepSeek-V3.1",
    "deepseek-ai/DeepSeek-R1",
    "deepseek-ai/DeepSeek-R1-0528",
    "zai-org/GLM-4.5",
    "zai-org/GLM-4.6",
    "zai-org/GLM-4.7",
    "zai-org/GLM-5",
    "openai/gpt-oss-120b",
    "moonshotai/Kimi-K2-Thinking",
    "moonshotai/Kimi-K2.5",
    "Qwen/Qwen3-235B-A22B-Instruct-2507",
    "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8",
    "NousResearch/Hermes-4-405B-FP8",
    "MiniMaxAI/MiniMax-M2.5",
    "XiaomiMiMo/MiMo-V2-Flash",
    "Qwen/Qwen3-32B",
    "unsloth/Mistral-Nemo-Instruct-2407",
)

# Other silent rewrites of the real llm host (reference §3.1).
NAME_REWRITES: Mapping[str, str] = {
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503": "chutesai/Mistral-Small-3.1-24B-Instruct-2503",
    "moonshotai/Kimi-K2-Instruct": "moonshotai/Kimi-K2-Instruct-0905",
    "moonshotai/Kimi-K2-Instruct-75k": "moonshotai/Kimi-K2-Instruct-0905",
    "zai-org/glm-4.5v-fp8": "zai-org/GLM-4.5V",
    "zai-org/GLM-5-Turbo": "zai-org/GLM-5-TEE",
    "Zenith": "NousResearch/Hermes-4-405B-FP8-TEE",
    "Meridian": "NousResearch/Hermes-4-70B",
    "Proxima": "NousResearch/Hermes-4-14B",
}

# Models that think unless the caller says otherwise, and the one that does not (reference §3.1 step 8).
THINKING_DEFAULT_ON: frozenset[str] = frozenset(
    {
        "deepseek-ai/DeepSeek-V3.2-Speciale",
        "deepseek-ai/DeepSeek-V3.2-Speciale-TEE",
        "zai-org/GLM-4.7",
        "zai-org/GLM-4.7-TEE",
        "moonshotai/Kimi-K2.5",
        "moonshotai/Kimi-K2.5-TEE",
    }
)
# Models that always reason, whatever the switches say: the R1 family and "Thinking" releases (their
# templates have no switch), and gpt-oss (its harmony format always has an analysis channel; a
# `reasoning_effort` only shortens it).
ALWAYS_THINKING = re.compile(r"(?i)(-R1|R1T|Thinking|MiroThinker|gpt-oss)")


@dataclass(frozen=True)
class EmbeddingModel:
    id: str
    dimension: int
    tee: bool
    # The engine's context window (the models' own configs): longer inputs are refused, as vLLM does.
    max_model_len: int
    # `embedding` (vLLM, served by the embed host too) or `tei` (older chutes: their own host only).
    template: str = "embedding"

    @property
    def slug(self) -> str:
        return chute_slug(self.id)

    @property
    def chute_id(self) -> str:
        return chute_id_for(self.id)


# Embedding chutes are not listed by /v1/models (reference §4); the first six are the public ones known to
# exist, the last two stand for chutes deployed since, which only `GET /chutes/` makes known, one of them
# an older Text-Embeddings-Inference chute.
EMBEDDING_MODELS: tuple[EmbeddingModel, ...] = (
    EmbeddingModel("Qwen/Qwen3-Embedding-8B", 4096, tee=False, max_model_len=40960),
    EmbeddingModel("Qwen/Qwen3-Embedding-8B-TEE", 4096, tee=True, max_model_len=40960),
    EmbeddingModel("Qwen/Qwen3-Embedding-0.6B", 1024, tee=False, max_model_len=32768),
    EmbeddingModel("BAAI/bge-m3", 1024, tee=False, max_model_len=8192),
    EmbeddingModel("BAAI/bge-large-en-v1.5", 1024, tee=False, max_model_len=512),
    EmbeddingModel("intfloat/multilingual-e5-large", 1024, tee=False, max_model_len=512),
    EmbeddingModel("Qwen/Qwen3-Embedding-4B", 2560, tee=False, max_model_len=40960),
    EmbeddingModel(
        "sentence-transformers/all-MiniLM-L6-v2", 384, tee=False, max_model_len=256, template="tei"
    ),
)
EMBED_REROUTES: Mapping[str, str] = {"Qwen/Qwen3-Embedding-8B": "Qwen/Qwen3-Embedding-8B-TEE"}


def chute_id_for(name: str, username: str = "chutes") -> str:
    """Chutes mints chute ids as uuid5(OID, "<user>::chute::<name>"); the capture confirms it."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{username}::chute::{name}"))


def chute_slug(name: str, username: str = "chutes") -> str:
    """`slugify(f"{username}-{name}", max_length=58).lower()` as the real API names per-chute hosts."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{username}-{name}".lower()).strip("-")
    return slug[:58].rstrip("-")


class CatalogFileError(ValueError):
    """The catalog file given to the simulator cannot be read or is not a `/v1/models` body."""


def load_capture(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Read a `/v1/models` body (or a bare list of entries) from a file, or the bundled capture."""
    if path is None:
        text = resources.files("chutes_mcp.sim").joinpath("data", CAPTURE_FILE).read_text("utf-8")
        return entries_from_json(json.loads(text))
    expected = 'expected a /v1/models JSON body, {"object": "list", "data": [{"id": ...}, ...]}'
    try:
        return entries_from_json(json.loads(Path(path).read_text("utf-8")))
    except OSError as exc:
        raise CatalogFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CatalogFileError(f"{path} is not UTF-8 text; {expected}") from None
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"{path} is not valid JSON ({exc}); {expected}") from None
    except ValueError as exc:
        raise CatalogFileError(f"{path}: {exc}; {expected}") from None


def entries_from_json(payload: Any) -> list[dict[str, Any]]:
    """Accept `{"object":"list","data":[...]}` or a bare list; every entry needs a string `id`."""
    entries = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(entries, list) or not entries:
        raise ValueError('expected {"object": "list", "data": [...]} or a non-empty list of model entries')
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise ValueError(f"entry {index} has no string 'id'")
    return entries


def _vllm_permission(created: int) -> dict[str, Any]:
    return {
        "id": f"modelperm-{secrets.token_hex(8)}",
        "object": "model_permission",
        "created": created,
        "allow_create_engine": False,
        "allow_sampling": True,
        "allow_logprobs": True,
        "allow_search_indices": False,
        "allow_view": True,
        "allow_fine_tuning": False,
        "organization": "*",
        "group": None,
        "is_blocking": False,
    }


class Catalog:
    """The LLM chutes the simulator knows, in popularity order, plus the embedding chutes."""

    def __init__(self, entries: Iterable[dict[str, Any]]) -> None:
        self._entries = [self._complete(copy.deepcopy(entry)) for entry in entries]
        self._by_name = {entry["id"]: entry for entry in self._entries}
        self._by_chute_id = {entry["chute_id"]: entry for entry in self._entries}
        self._by_slug = {chute_slug(entry["id"]): entry for entry in self._entries}
        self.embeddings = {model.id: model for model in EMBEDDING_MODELS}
        self._embeddings_by_slug = {model.slug: model for model in EMBEDDING_MODELS}
        self._embeddings_by_chute_id = {model.chute_id: model for model in EMBEDDING_MODELS}

    @staticmethod
    def _complete(entry: dict[str, Any]) -> dict[str, Any]:
        """Fill what a replacement catalog may lack so every entry keeps the real shape."""
        entry.setdefault("object", "model")
        entry.setdefault("root", entry["id"])
        entry.setdefault("parent", None)
        entry.setdefault("owned_by", "vllm")
        entry.setdefault("chute_id", chute_id_for(entry["id"]))
        entry.setdefault("confidential_compute", False)
        if entry["owned_by"] != "vllm":
            entry.pop("permission", None)
        return entry

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[dict[str, Any]]:
        """The LLM chutes' `/v1/models` entries, most used first (not to be mutated)."""
        return self._entries

    def listing(self) -> dict[str, Any]:
        """The `/v1/models` body: `created` is the refresh time, so it is now, as on the real service."""
        now = int(time.time())
        data = []
        for entry in self._entries:
            served = dict(entry)
            served["created"] = now
            if served["owned_by"] == "vllm":
                permissions = served.get("permission") or [_vllm_permission(now)]
                served["permission"] = [{**p, "created": now} for p in permissions]
            data.append(served)
        return {"object": "list", "data": data}

    def engine_card(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """What a per-chute host's own `/v1/models` returns: the engine's card without Chutes' additions."""
        now = int(time.time())
        card: dict[str, Any] = {
            "id": entry["id"],
            "object": "model",
            "created": now,
            "owned_by": entry["owned_by"],
            "root": entry["root"],
            "parent": None,
            "max_model_len": entry.get("max_model_len"),
        }
        if entry["owned_by"] == "vllm":
            card["permission"] = [_vllm_permission(now)]
        return card

    def get(self, name: str) -> dict[str, Any] | None:
        return self._by_name.get(name) or self._by_chute_id.get(name)

    def embedding(self, name: str) -> EmbeddingModel | None:
        """An embedding chute by name or chute id."""
        return self.embeddings.get(name) or self._embeddings_by_chute_id.get(name)

    def embed_host_embedding(self, name: str) -> EmbeddingModel | None:
        """What the embed host resolves: chutes of the `embedding` template only (reference §1)."""
        found = self.embedding(name)
        return found if found is not None and found.template == "embedding" else None

    def chute_id_of(self, name_or_id: str) -> str | None:
        entry = self.get(name_or_id)
        if entry is not None:
            return str(entry["chute_id"])
        embedding = self.embedding(name_or_id)
        return embedding.chute_id if embedding else None

    def by_slug(self, slug: str) -> dict[str, Any] | None:
        return self._by_slug.get(slug)

    def embedding_by_slug(self, slug: str) -> EmbeddingModel | None:
        return self._embeddings_by_slug.get(slug)

    def is_known_slug(self, slug: str) -> bool:
        return slug in self._by_slug or slug in self._embeddings_by_slug

    def rewrite(self, name: str) -> str:
        """Apply the llm host's silent renames and TEE re-routes before lookup (reference §3.1 step 3)."""
        if name.startswith("THUDM/"):
            name = "zai-org/" + name.removeprefix("THUDM/")
        name = NAME_REWRITES.get(name, name)
        if name in TEE_REROUTES and f"{name}-TEE" in self._by_name:
            return f"{name}-TEE"
        return name
