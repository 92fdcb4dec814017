"""The Chutes domain and HTTP client. Never imports `mcp`."""

from chutes_mcp.chutes.aliases import ModelResolver, Resolution
from chutes_mcp.chutes.breaker import BreakerSnapshot, BreakerState
from chutes_mcp.chutes.catalog import CatalogView, ModelCatalog, list_models
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.completions import ChatAccumulator
from chutes_mcp.chutes.cost import TokenPrices, cost_usd
from chutes_mcp.chutes.embeddings import EmbeddingCatalog, EmbeddingModel, EmbeddingRoute
from chutes_mcp.chutes.errors import (
    AuthInvalidError,
    AuthScopeError,
    BadRequestError,
    CallCancelledError,
    ChutesError,
    ChutesTimeoutError,
    ModelNotFoundError,
    ModelUnavailableError,
    NetworkError,
    QuotaExhaustedError,
    RateLimitedError,
    TeeRequiredError,
    UpstreamError,
)
from chutes_mcp.chutes.listing import ModelFilter, ModelList
from chutes_mcp.chutes.models import ModelInfo, Prices
from chutes_mcp.chutes.picker import ModelPick, PickRequest, PickResult, pick_models
from chutes_mcp.chutes.ratelimit import LimiterState
from chutes_mcp.chutes.request import ChatRequest, ReasoningEffort
from chutes_mcp.chutes.types import (
    ChatEvent,
    ChatResult,
    Done,
    EmbedResult,
    QuotaHeaders,
    QuotaUsage,
    ReasoningDelta,
    ResponseMeta,
    RetryRecord,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    UsageEvent,
)

__all__ = [
    "AuthInvalidError",
    "AuthScopeError",
    "BadRequestError",
    "BreakerSnapshot",
    "BreakerState",
    "CallCancelledError",
    "CatalogView",
    "ChatAccumulator",
    "ChatEvent",
    "ChatRequest",
    "ChatResult",
    "ChutesClient",
    "ChutesError",
    "ChutesTimeoutError",
    "Done",
    "EmbedResult",
    "EmbeddingCatalog",
    "EmbeddingModel",
    "EmbeddingRoute",
    "LimiterState",
    "ModelCatalog",
    "ModelFilter",
    "ModelInfo",
    "ModelList",
    "ModelNotFoundError",
    "ModelPick",
    "ModelResolver",
    "ModelUnavailableError",
    "NetworkError",
    "PickRequest",
    "PickResult",
    "Prices",
    "QuotaExhaustedError",
    "QuotaHeaders",
    "QuotaUsage",
    "RateLimitedError",
    "ReasoningDelta",
    "ReasoningEffort",
    "Resolution",
    "ResponseMeta",
    "RetryRecord",
    "TeeRequiredError",
    "TextDelta",
    "TokenPrices",
    "ToolCall",
    "ToolCallDelta",
    "UpstreamError",
    "Usage",
    "UsageEvent",
    "cost_usd",
    "list_models",
    "pick_models",
]
