"""The Chutes domain and HTTP client. Never imports `mcp`."""

from chutes_mcp.chutes.aliases import ModelResolver, Resolution
from chutes_mcp.chutes.breaker import BreakerSnapshot, BreakerState
from chutes_mcp.chutes.budget import enforce_cost_limit, estimate_prompt_tokens
from chutes_mcp.chutes.catalog import CatalogView, ModelCatalog, list_models
from chutes_mcp.chutes.chat_plan import Candidate, ChatNeeds, ChatPlan, ChatPlanner
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
    CostLimitError,
    EmptyAnswerError,
    ModelNotAllowedError,
    ModelNotFoundError,
    ModelUnavailableError,
    NetworkError,
    QuotaExhaustedError,
    RateLimitedError,
    TeeRequiredError,
    UpstreamError,
)
from chutes_mcp.chutes.failover import Attempt, ChatOutcome, run_chat
from chutes_mcp.chutes.listing import ModelFilter, ModelList
from chutes_mcp.chutes.models import ModelInfo, Prices
from chutes_mcp.chutes.picker import ModelPick, PickRequest, PickResult, pick_models
from chutes_mcp.chutes.progress import ProgressCallback, ProgressUpdate
from chutes_mcp.chutes.ratelimit import LimiterState
from chutes_mcp.chutes.reasoning import REASONING_CHARS, clip_reasoning
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
    "REASONING_CHARS",
    "Attempt",
    "AuthInvalidError",
    "AuthScopeError",
    "BadRequestError",
    "BreakerSnapshot",
    "BreakerState",
    "CallCancelledError",
    "Candidate",
    "CatalogView",
    "ChatAccumulator",
    "ChatEvent",
    "ChatNeeds",
    "ChatOutcome",
    "ChatPlan",
    "ChatPlanner",
    "ChatRequest",
    "ChatResult",
    "ChutesClient",
    "ChutesError",
    "ChutesTimeoutError",
    "CostLimitError",
    "Done",
    "EmbedResult",
    "EmbeddingCatalog",
    "EmbeddingModel",
    "EmbeddingRoute",
    "EmptyAnswerError",
    "LimiterState",
    "ModelCatalog",
    "ModelFilter",
    "ModelInfo",
    "ModelList",
    "ModelNotAllowedError",
    "ModelNotFoundError",
    "ModelPick",
    "ModelResolver",
    "ModelUnavailableError",
    "NetworkError",
    "PickRequest",
    "PickResult",
    "Prices",
    "ProgressCallback",
    "ProgressUpdate",
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
    "clip_reasoning",
    "cost_usd",
    "enforce_cost_limit",
    "estimate_prompt_tokens",
    "list_models",
    "pick_models",
    "run_chat",
]
