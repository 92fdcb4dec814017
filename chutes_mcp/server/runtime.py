"""The one object per process that every tool shares: settings, HTTP pool, catalogs, resolver, limiter.

The server's lifespan opens it and closes it; tools, resources and prompts reach it through their
request context.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from mcp.server.auth.provider import AccessToken

from chutes_mcp.chutes.auth.introspection import TokenIntrospector
from chutes_mcp.chutes.catalog.aliases import ModelResolver
from chutes_mcp.chutes.catalog.service import CatalogView, ModelCatalog
from chutes_mcp.chutes.chat.failover import TextListener
from chutes_mcp.chutes.chat.plan import ChatPlanner
from chutes_mcp.chutes.chat.progress import ProgressBudget
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.embeddings.directory import EmbeddingDirectory, fetch_embedding_chutes
from chutes_mcp.chutes.errors import AuthInvalidError
from chutes_mcp.config import Settings
from chutes_mcp.server.tenants import Tenants
from chutes_mcp.shared.cache import open_cache
from chutes_mcp.shared.redis_store import RedisStore

# Whose Chutes credential a call uses: the server's, or the caller's own from each HTTP request
# ("request-bearer": also from `Authorization: Bearer`, when the server has no tokens to check there;
# "sign-in": the access token the caller signed in with, checked by Chutes' token introspection).
TenancyMode = Literal["server", "request", "request-bearer", "sign-in"]

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
    # Set when callers sign in with Chutes: what Chutes says of their tokens, cached.
    introspector: TokenIntrospector | None = None
    # Set by `chutes-mcp call` on a terminal, whose in-process server has one caller: it prints `chat`'s
    # answer as it streams (MCP progress carries only its last words, throttled).
    answer_listener: TextListener | None = None
    # Redis, where replicas share rate limits and breakers; None: all of it lives in this process.
    store: RedisStore | None = None
    # The progress updates a second that every `chat` of the process shares.
    progress: ProgressBudget = field(default_factory=ProgressBudget)

    def shared_state(self) -> dict[str, Any]:
        """Where the limits and breakers live, and whether Redis answers (as last seen, no round trip)."""
        if self.store is None:
            return {"backend": "process"}
        return self.store.health().document()

    async def catalog_view(self) -> CatalogView:
        return await self.catalog.get(max_wait_s=CATALOG_WAIT_S)

    def for_request(
        self, headers: Mapping[str, str] | None, access_token: AccessToken | None = None
    ) -> Runtime:
        """This runtime as one request sees it: with the caller's own client in bring-your-own-key mode,
        or the signed-in user's (`access_token`, as the server's token verifier accepted it)."""
        if self.tenants is None:
            return self
        if self.tenants.signed_in:
            if access_token is None or not access_token.subject:
                raise AuthInvalidError(
                    "this server runs each call on its caller's Chutes sign-in, and the request carried none",
                    hint="Connect to this server again and sign in with Chutes.",
                )
            return replace(self, client=self.tenants.for_user(access_token.subject, access_token.token))
        return replace(self, client=self.tenants.client(self.tenants.credential(headers)))


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    tenancy: TenancyMode = "server",
    answer_listener: TextListener | None = None,
    store: RedisStore | None = None,
) -> AsyncIterator[Runtime]:
    """Open the shared state for the life of the server; nothing here waits on the network.

    `tenancy` "request" takes each caller's Chutes key from its request ("request-bearer": also from
    `Authorization: Bearer`, when the server itself has no tokens to check there); "sign-in" runs each
    call on the access token its caller signed in to Chutes with. `store`: the Redis the replicas share
    limits, breakers and the introspection cache through (its owner opens and closes it).
    """
    async with ChutesClient(settings, store=store) as client:
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
        introspector = (
            TokenIntrospector(
                # Shared by the replicas with Redis: a token checked by one is not checked by the next.
                client.http,
                settings.management_base,
                open_cache(store, "introspection"),
            )
            if tenancy == "sign-in"
            else None
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
                else Tenants(
                    settings,
                    client.http,
                    bearer_is_key=tenancy == "request-bearer",
                    introspector=introspector,
                    store=store,
                ),
                introspector=introspector,
                answer_listener=answer_listener,
                store=store,
            )
