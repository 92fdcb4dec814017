"""The one object per process that every tool shares: settings, HTTP pool, catalogs, resolver, limiter.

The server's lifespan opens it and closes it; tools, resources and prompts reach it through their
request context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Literal

from chutes_mcp.chutes.catalog.aliases import ModelResolver
from chutes_mcp.chutes.catalog.service import CatalogView, ModelCatalog
from chutes_mcp.chutes.chat.failover import TextListener
from chutes_mcp.chutes.chat.plan import ChatPlanner
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.embeddings.directory import EmbeddingDirectory, fetch_embedding_chutes
from chutes_mcp.config import Settings
from chutes_mcp.server.tenants import Tenants

# Whose Chutes credential a call uses: the server's, or the caller's own from each HTTP request
# ("request-bearer": also from `Authorization: Bearer`, when the server has no tokens to check there).
TenancyMode = Literal["server", "request", "request-bearer"]

# How long a tool waits for a due catalog refresh before answering from the copy it has.
CATALOG_WAIT_S = 2.0


@dataclass
class Runtime:
    settings: Settings
    client: ChutesClient
    catalog: ModelCatalog
    resolver: ModelResolver
    embeddings: EmbeddingDirectory
    planner: ChatPlanner
    # Set in bring-your-own-key mode: each request then calls Chutes with its own credential.
    tenants: Tenants | None = None
    # Set by `chutes-mcp call` on a terminal, whose in-process server has one caller: it prints `chat`'s
    # answer as it streams (MCP progress carries only its last words, throttled).
    answer_listener: TextListener | None = None

    async def catalog_view(self) -> CatalogView:
        return await self.catalog.get(max_wait_s=CATALOG_WAIT_S)

    def for_request(self, headers: Mapping[str, str] | None) -> Runtime:
        """This runtime as one request sees it: with the caller's own client in bring-your-own-key mode."""
        if self.tenants is None:
            return self
        return replace(self, client=self.tenants.client(self.tenants.credential(headers)))


@asynccontextmanager
async def open_runtime(
    settings: Settings, *, tenancy: TenancyMode = "server", answer_listener: TextListener | None = None
) -> AsyncIterator[Runtime]:
    """Open the shared state for the life of the server; nothing here waits on the network.

    `tenancy` "request" takes each caller's Chutes key from its request ("request-bearer": also from
    `Authorization: Bearer`, when the server itself has no tokens to check there).
    """
    async with ChutesClient(settings) as client:
        catalog = ModelCatalog(
            client.list_models_raw, ttl_s=settings.cache_ttl_s, cache_dir=settings.catalog_cache_path
        )
        resolver = ModelResolver(settings.aliases)
        planner = ChatPlanner(
            resolver,
            default_model=settings.default_model,
            allowed_models=settings.allowed_models,
            fallbacks=settings.fallbacks,
        )
        embeddings = EmbeddingDirectory(
            fetch_embedding_chutes(client), ttl_s=settings.cache_ttl_s, cache_dir=settings.catalog_cache_path
        )
        async with catalog, embeddings:
            yield Runtime(
                settings=settings,
                client=client,
                catalog=catalog,
                resolver=resolver,
                embeddings=embeddings,
                planner=planner,
                tenants=None
                if tenancy == "server"
                else Tenants(settings, client.http, bearer_is_key=tenancy == "request-bearer"),
                answer_listener=answer_listener,
            )
