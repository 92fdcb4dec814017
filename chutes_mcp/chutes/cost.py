"""What a call cost, in USD, from its token usage and the model's catalog prices.

Chutes bills `prompt·in − cached·in·discount + completion·out` per million tokens, which is the same as
charging cached prompt tokens at the catalog's cache-read price. Decimal arithmetic keeps the
result exact for the 2-decimal prices Chutes publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from chutes_mcp.chutes.types import Usage

_PER_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """USD per million tokens, as in `/v1/models` `pricing` (prompt, completion, input_cache_read)."""

    prompt: float
    completion: float
    cache_read: float | None = None
    """None: cached tokens cost the full prompt price."""


def cost_usd(usage: Usage, prices: TokenPrices) -> float:
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    cache_price = prices.prompt if prices.cache_read is None else prices.cache_read
    total = (
        Decimal(usage.prompt_tokens - cached) * Decimal(str(prices.prompt))
        + Decimal(cached) * Decimal(str(cache_price))
        + Decimal(usage.completion_tokens) * Decimal(str(prices.completion))
    ) / _PER_MILLION
    return float(total)
