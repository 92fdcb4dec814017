"""MCP resources: the catalog, one model, the aliases and the server's status, as compact JSON.

The same data is available through tools (list_models, get_model) for clients without resources.
Listing them needs nothing but this module; their documents (`catalog_documents`) load with the runtime.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import FunctionResource

from chutes_mcp.server.runtime_slot import RuntimeSlot

MODELS_URI = "chutes://models"
TEE_MODELS_URI = "chutes://models/tee"
ALIASES_URI = "chutes://aliases"
STATUS_URI = "chutes://status"
# Reserved expansion: model ids contain `/`, and `chutes://models/zai-org/GLM-4.7-TEE` should just work.
MODEL_TEMPLATE = "chutes://models/{+model_id}"
JSON = "application/json"

# uri, name, title, description
STATIC: tuple[tuple[str, str, str, str], ...] = (
    (
        MODELS_URI,
        "models",
        "Chutes models",
        "Every LLM in the catalog, most used first (TEE models only when the server is TEE-only): id, "
        "TEE, context, USD per 1M input and output tokens, features.",
    ),
    (
        TEE_MODELS_URI,
        "tee_models",
        "Chutes TEE models",
        "The models running in a Trusted Execution Environment (confidential compute).",
    ),
    (
        ALIASES_URI,
        "aliases",
        "Model aliases",
        "Built-in and configured aliases, their targets, and the models they resolve to now.",
    ),
    (
        STATUS_URI,
        "status",
        "Server status",
        "Version, TEE-only mode, catalog source and age, circuit breakers and rate limiter.",
    ),
)


def _static(slot: RuntimeSlot, entry: tuple[str, str, str, str]) -> FunctionResource:
    uri, name, title, description = entry

    async def read() -> str:
        runtime = await slot.runtime()
        # Loaded with the runtime (see `runtime_slot`): the documents need the Chutes domain.
        from chutes_mcp.server.catalog_documents import READERS

        return await READERS[uri](runtime)

    # Built as the SDK keeps it: its decorator would also wrap `read`, which takes no arguments, in a
    # pydantic argument validator.
    return FunctionResource(uri=uri, name=name, title=title, description=description, mime_type=JSON, fn=read)


def register_resources(server: MCPServer[RuntimeSlot], slot: RuntimeSlot) -> None:
    for entry in STATIC:
        server.add_resource(_static(slot, entry))

    @server.resource(
        MODEL_TEMPLATE,
        name="model",
        title="One Chutes model",
        description="Everything the catalog says about one model and the aliases that point to it; "
        "`model_id` is an id like zai-org/GLM-4.7-TEE, an alias or a short name.",
        mime_type=JSON,
    )
    async def model(model_id: str) -> str:
        runtime = await slot.runtime()
        from chutes_mcp.server.catalog_documents import model_document  # loaded with the runtime

        return await model_document(runtime, model_id)
