"""The Chutes domain and HTTP client. Never imports `mcp`."""

from chutes_mcp.chutes.breaker import BreakerSnapshot, BreakerState
from chutes_mcp.chutes.client import ChutesClient
from chutes_mcp.chutes.completions import ChatAccumulator
from chutes_mcp.chutes.cost import TokenPrices, cost_usd
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
    "ChatAccumulator",
    "ChatEvent",
    "ChatRequest",
    "ChatResult",
    "ChutesClient",
    "ChutesError",
    "ChutesTimeoutError",
    "Done",
    "EmbedResult",
    "LimiterState",
    "ModelNotFoundError",
    "ModelUnavailableError",
    "NetworkError",
    "QuotaExhaustedError",
    "QuotaHeaders",
    "QuotaUsage",
    "RateLimitedError",
    "ReasoningDelta",
    "ReasoningEffort",
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
]
