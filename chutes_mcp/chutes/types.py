"""Results and stream events of the Chutes client: plain data, no behaviour beyond parsing helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Usage(_Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = Field(default=0, description="prompt tokens served from the cache (cheaper)")

    @classmethod
    def from_payload(cls, payload: Any) -> Usage | None:
        """Read an OpenAI-style `usage` object; None when absent or not an object."""
        if not isinstance(payload, Mapping):
            return None
        details = payload.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
        prompt = _int(payload.get("prompt_tokens"))
        completion = _int(payload.get("completion_tokens"))
        total = _int(payload.get("total_tokens")) or prompt + completion
        return cls(
            prompt_tokens=prompt, completion_tokens=completion, total_tokens=total, cached_tokens=_int(cached)
        )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


class QuotaHeaders(_Frozen):
    """Chutes' X-Chutes-Quota-* and X-Chutes-RL-User headers, as counted before this request."""

    total: int | None = None
    used: int | None = None
    remaining: int | None = None
    rate_limit_user: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> QuotaHeaders:
        def number(name: str) -> int | None:
            value = headers.get(name)
            try:
                return int(float(value)) if value is not None else None
            except ValueError:
                return None

        return cls(
            total=number("x-chutes-quota-total"),
            used=number("x-chutes-quota-used"),
            remaining=number("x-chutes-quota-remaining"),
            rate_limit_user=headers.get("x-chutes-rl-user"),
        )


class RetryRecord(_Frozen):
    """One failed attempt that was retried: why, and how long the client waited before the next."""

    attempt: int
    code: str
    status: int | None
    wait_s: float
    ceiling_s: float = Field(description="the backoff ceiling the jittered wait was drawn under")


class ResponseMeta(_Frozen):
    invocation_id: str | None = None
    quota: QuotaHeaders = QuotaHeaders()
    attempts: int = 1
    retries: tuple[RetryRecord, ...] = ()


class ToolCall(_Frozen):
    index: int
    id: str | None = None
    name: str = ""
    arguments: str = Field(default="", description="the JSON string the model produced, unparsed")


class ChatResult(_Frozen):
    text: str
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    model: str
    usage: Usage | None = None
    meta: ResponseMeta = ResponseMeta()


class EmbedResult(_Frozen):
    """Vectors as Chutes' base64 encoding carries them: little-endian float32, 4 bytes a value (see
    `embeddings.vectors` to read them as floats). Kept as bytes, a 4096-value vector is 16 KiB, not the
    ~130 KiB of a tuple of floats."""

    vectors: tuple[bytes, ...]
    model: str
    usage: Usage | None = None
    meta: ResponseMeta = ResponseMeta()


class QuotaUsage(_Frozen):
    """`GET /users/me/quota_usage/me`: the daily request quota and what is used of it."""

    quota: int | Literal["unlimited"]
    used: float


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class UsageEvent:
    usage: Usage


@dataclass(frozen=True, slots=True)
class Done:
    finish_reason: str | None
    model: str
    meta: ResponseMeta


ChatEvent = TextDelta | ReasoningDelta | ToolCallDelta | UsageEvent | Done
