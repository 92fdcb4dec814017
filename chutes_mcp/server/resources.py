"""MCP resources: the catalog, one model, the embedding models, the aliases and the server's status, as
compact JSON.

The same data is available through tools (list_models, get_model) for clients without resources.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer

from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.errors import AuthInvalidError
from chutes_mcp.server.catalog_documents import (
    aliases_document,
    catalog_document,
    embedding_models_document,
    model_document,
    status_document,
)
from chutes_mcp.server.request_headers import current_headers
from chutes_mcp.server.runtime import Runtime

MODELS_URI = "chutes://models"
TEE_MODELS_URI = "chutes://models/tee"
EMBEDDING_MODELS_URI = "chutes://embedding-models"
ALIASES_URI = "chutes://aliases"
STATUS_URI = "chutes://status"
# Reserved expansion: model ids contain `/`, and `chutes://models/zai-org/GLM-4.7-TEE` should just work.
MODEL_TEMPLATE = "chutes://models/{+model_id}"
JSON = "application/json"

Document = Callable[[Runtime], Awaitable[str]]


def _callers_client(runtime: Runtime) -> ChutesClient | None:
    """The client the reader's own calls would go through: the server's, or with bring-your-own-key
    and sign-in the caller's (its own limiter and breakers); None when the request names no caller."""
    try:
        return runtime.for_request(current_headers(), get_access_token()).client
    except AuthInvalidError:
        return None


# uri, name, title, description, document
STATIC: tuple[tuple[str, str, str, str, Document], ...] = (
    (
        MODELS_URI,
        "models",
        "Chutes models",
        "Every LLM in the catalog, most used first (TEE models only when the server is TEE-only): id, "
        "TEE, context, USD per 1M input and output tokens, features.",
        lambda runtime: catalog_document(runtime, tee_only=False),
    ),
    (
        TEE_MODELS_URI,
        "tee_models",
        "Chutes TEE models",
        "The models running in a Trusted Execution Environment (confidential compute).",
        lambda runtime: catalog_document(runtime, tee_only=True),
    ),
    (
        EMBEDDING_MODELS_URI,
        "embedding_models",
        "Chutes embedding models",
        "The embedding models for `embed` (Chutes' /v1/models lists none): bundled, and the public "
        "chutes of the embedding and tei templates Chutes lists; id, dimensions (null until first use), "
        "TEE, template, source. Any other embedding chute's name works too.",
        embedding_models_document,
    ),
    (
        ALIASES_URI,
        "aliases",
        "Model aliases",
        "Built-in and configured aliases, their targets, and the models they resolve to now.",
        aliases_document,
    ),
    (
        STATUS_URI,
        "status",
        "Server status",
        "Version, TEE-only mode, catalog source and age, and the circuit breakers and rate limiter "
        "your calls go through.",
        lambda runtime: status_document(runtime, _callers_client(runtime)),
    ),
)


def _reader(document: Document, runtime: Callable[[], Runtime]) -> Callable[[], Awaitable[str]]:
    async def read() -> str:
        return await document(runtime())

    return read


def register_resources(server: MCPServer[Runtime], runtime: Callable[[], Runtime]) -> None:
    """`runtime` gives the server's runtime while it serves: the SDK gives a fixed resource's function
    no request context."""
    for uri, name, title, description, document in STATIC:
        server.resource(uri, name=name, title=title, description=description, mime_type=JSON)(
            _reader(document, runtime)
        )

    @server.resource(
        MODEL_TEMPLATE,
        name="model",
        title="One Chutes model",
        description="Everything the catalog says about one model and the aliases that point to it; "
        "`model_id` is an id like zai-org/GLM-4.7-TEE, an alias or a short name.",
        mime_type=JSON,
    )
    async def model(model_id: str) -> str:
        return await model_document(runtime(), model_id)
