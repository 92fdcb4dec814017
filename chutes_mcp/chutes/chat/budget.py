"""The cost guard: refuse a call before it is made when its worst case could exceed the limit.

Worst case = the prompt estimate at the input price + every output token allowed (`max_tokens`, else the
model's maximum output) at the output price. The prompt estimate errs high on purpose: one token per 3
characters (English runs near 4), a fixed overhead per message, and a flat allowance per image.

A model whose price or output ceiling the catalog does not publish cannot be bounded, so under a limit
it is refused rather than let through: a guard that lets the unknown pass would not be a guard.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from chutes_mcp.chutes.catalog.models import ModelInfo
from chutes_mcp.chutes.chat.plan import Candidate, ChatPlan
from chutes_mcp.chutes.errors import CostLimitError

CHARS_PER_TOKEN = 3
MESSAGE_OVERHEAD_TOKENS = 8
IMAGE_TOKENS = 1_600
"""Above what common vision encoders charge for one high-detail image (OpenAI: at most ~1,100)."""

_PER_MILLION = Decimal(1_000_000)


def estimate_prompt_tokens(
    messages: Sequence[Mapping[str, Any]],
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    response_format: Mapping[str, Any] | None = None,
) -> int:
    """An upper estimate of the prompt tokens; the count Chutes bills comes back in `usage`."""
    chars = 0
    images = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            for part in content:
                if part.get("type") == "image_url":
                    images += 1
                else:
                    chars += len(str(part.get("text", "")))
        if message.get("tool_calls"):
            chars += len(json.dumps(message["tool_calls"]))
    for extra in (tools, response_format):
        if extra:
            chars += len(json.dumps(extra))
    return (
        math.ceil(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS * len(messages) + IMAGE_TOKENS * images
    )


@dataclass(frozen=True, slots=True)
class WorstCase:
    usd: float | None
    """None when the catalog lacks the prices or the output ceiling."""
    prompt_tokens: int
    output_tokens: int | None


def worst_case(info: ModelInfo | None, prompt_tokens: int, max_tokens: int | None) -> WorstCase:
    output = max_tokens or (info.max_output_tokens if info is not None else None)
    prices = info.prices if info is not None else None
    if prices is None or prices.prompt is None or prices.completion is None or output is None:
        return WorstCase(None, prompt_tokens, output)
    total = (
        Decimal(prompt_tokens) * Decimal(str(prices.prompt))
        + Decimal(output) * Decimal(str(prices.completion))
    ) / _PER_MILLION
    return WorstCase(float(total), prompt_tokens, output)


def _refusal(candidate: Candidate, case: WorstCase, limit_usd: float) -> CostLimitError:
    if case.usd is None:
        missing = "output ceiling" if case.output_tokens is None else "token prices"
        return CostLimitError(
            f"cannot bound the cost of {candidate.model}: the catalog gives no {missing} for it",
            hint="Set max_tokens, or use a model with published prices; or call without max_cost_usd "
            "(and without CHUTES_MAX_COST_PER_CALL_USD) to accept an unbounded cost.",
        )
    return CostLimitError(
        f"worst case ${case.usd:.6f} for {candidate.model} (~{case.prompt_tokens} prompt tokens estimated "
        f"+ {case.output_tokens} output tokens) exceeds the limit ${limit_usd:g}"
    )


def enforce_cost_limit(
    plan: ChatPlan, limit_usd: float, prompt_tokens: int, max_tokens: int | None
) -> ChatPlan:
    """The plan without the fallbacks that could cost more than `limit_usd`; raises CostLimitError when
    the first candidate could, so nothing is called."""
    first, *rest = plan.candidates
    case = worst_case(first.info, prompt_tokens, max_tokens)
    if case.usd is None or case.usd > limit_usd:
        raise _refusal(first, case, limit_usd)
    kept = [first]
    notes = list(plan.notes)
    for candidate in rest:
        case = worst_case(candidate.info, prompt_tokens, max_tokens)
        if case.usd is not None and case.usd <= limit_usd:
            kept.append(candidate)
        else:
            notes.append(
                f"fallback {candidate.model} left out: {_refusal(candidate, case, limit_usd).message}"
            )
    return replace(plan, candidates=tuple(kept), notes=tuple(notes))
