"""The cost guard: keep a call's worst case within the limit, or refuse it before it is made.

Worst case = the prompt estimate at the input price + every output token allowed (`max_tokens`, else the
model's maximum output) at the output price. The prompt estimate errs high on purpose: one token per 3
characters (English runs near 4), a fixed overhead per message, and a flat allowance per image.

A caller who set `max_tokens` chose the answer's length: a worst case above the limit is refused. One who
did not gets `max_tokens` capped at what the limit can pay for (said in the plan's notes), and a refusal
only when not even `MIN_ANSWER_TOKENS` fit. Without the cap, a limit of a few cents would refuse every
call to a model that may write 65,535 tokens, though most answers are a few hundred.

A model whose prices the catalog does not publish cannot be bounded, so under a limit it is refused
rather than let through: a guard that lets the unknown pass would not be a guard.
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
MIN_ANSWER_TOKENS = 256
"""The shortest answer worth sending a call for: a cost limit that cannot pay for this many refuses."""

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


def _refusal(
    candidate: Candidate, case: WorstCase, limit_usd: float, *, capped: bool = False
) -> CostLimitError:
    if case.usd is None:
        missing = "output ceiling" if case.output_tokens is None else "token prices"
        return CostLimitError(
            f"cannot bound the cost of {candidate.model}: the catalog gives no {missing} for it",
            hint="Set max_tokens, or use a model with published prices; or call without max_cost_usd "
            "(and without CHUTES_MAX_COST_PER_CALL_USD) to accept an unbounded cost.",
        )
    smallest = ", the shortest answer allowed" if capped else ""
    return CostLimitError(
        f"worst case ${case.usd:.6f} for {candidate.model} (~{case.prompt_tokens} prompt tokens estimated "
        f"+ {case.output_tokens} output tokens{smallest}) exceeds the limit ${limit_usd:g}"
    )


def affordable_output_tokens(info: ModelInfo | None, prompt_tokens: int, limit_usd: float) -> int | None:
    """How many output tokens `limit_usd` pays for after the prompt; None when a price is unknown or
    the output is free (then only the prompt costs)."""
    prices = info.prices if info is not None else None
    if prices is None or prices.prompt is None or not prices.completion:
        return None
    left = Decimal(str(limit_usd)) * _PER_MILLION - Decimal(prompt_tokens) * Decimal(str(prices.prompt))
    return max(int(left / Decimal(str(prices.completion))), 0)


@dataclass(frozen=True, slots=True)
class Budget:
    plan: ChatPlan
    """The plan without the fallbacks the limit cannot pay for."""
    max_tokens: int | None
    """What to send as `max_tokens`: the caller's, or the cap the limit sets when the caller gave none."""


def _cap(first: Candidate, limit_usd: float, prompt_tokens: int) -> tuple[int | None, str | None]:
    """The `max_tokens` cap for a call that set none, and the note that says so; (None, None) when the
    model's whole output fits. Raises CostLimitError when not even a short answer fits."""
    info = first.info
    ceiling = info.max_output_tokens if info is not None else None
    full = worst_case(info, prompt_tokens, ceiling)
    if full.usd is not None and full.usd <= limit_usd:
        return None, None
    affordable = affordable_output_tokens(info, prompt_tokens, limit_usd)
    if affordable is None:
        smallest = worst_case(info, prompt_tokens, MIN_ANSWER_TOKENS)
        free_output = info is not None and info.prices.completion == 0
        if free_output and smallest.usd is not None and smallest.usd <= limit_usd:
            return None, None  # the prompt is the whole cost
        raise _refusal(first, smallest, limit_usd, capped=True)
    if affordable < MIN_ANSWER_TOKENS:
        raise _refusal(first, worst_case(info, prompt_tokens, MIN_ANSWER_TOKENS), limit_usd, capped=True)
    cap = min(affordable, ceiling) if ceiling is not None else affordable
    could = f"{ceiling:,}" if ceiling is not None else "an unknown number of"
    note = (
        f"max_tokens capped at {cap:,}, what the cost limit ${limit_usd:g} pays for on {first.model} after "
        f"~{prompt_tokens:,} prompt tokens (it could write {could} tokens); set max_tokens to choose"
    )
    return cap, note


def enforce_cost_limit(
    plan: ChatPlan, limit_usd: float, prompt_tokens: int, max_tokens: int | None
) -> Budget:
    """The plan within `limit_usd`: `max_tokens` capped when the caller gave none, and without the
    fallbacks that could cost more; raises CostLimitError when the first candidate could, so nothing is
    called."""
    first, *rest = plan.candidates
    notes = list(plan.notes)
    if max_tokens is None:
        max_tokens, note = _cap(first, limit_usd, prompt_tokens)
        if note is not None:
            notes.append(note)
    else:
        case = worst_case(first.info, prompt_tokens, max_tokens)
        if case.usd is None or case.usd > limit_usd:
            raise _refusal(first, case, limit_usd)
    kept = [first]
    for candidate in rest:
        case = worst_case(candidate.info, prompt_tokens, max_tokens)
        if case.usd is not None and case.usd <= limit_usd:
            kept.append(candidate)
        else:
            notes.append(
                f"fallback {candidate.model} left out: {_refusal(candidate, case, limit_usd).message}"
            )
    return Budget(replace(plan, candidates=tuple(kept), notes=tuple(notes)), max_tokens)
