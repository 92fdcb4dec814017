"""What a call cost, in USD, from its token usage and the model's catalog prices.

Chutes bills `prompt·in − cached·in·discount + completion·out` per million tokens, which is the same as
charging cached prompt tokens at the catalog's cache-read price. The sum is taken in integers, with
prices in billionths of a USD per million tokens, so it is exact for any price of up to 9 decimals
(Chutes publishes 2); one division then gives the nearest float. `decimal` would be exact too, but its
first use in each request runs cold code: 20-30 µs in the server against 3 µs in a loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from chutes_mcp.chutes.types import Usage

_NANO = 1_000_000_000
_PER_MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class TokenPrices:
    """USD per million tokens, as in `/v1/models` `pricing` (prompt, completion, input_cache_read)."""

    prompt: float
    completion: float
    cache_read: float | None = None
    """None: cached tokens cost the full prompt price."""


def _nano(price: float) -> int:
    return round(price * _NANO)


def cost_usd(usage: Usage, prices: TokenPrices) -> float:
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    cache_price = prices.prompt if prices.cache_read is None else prices.cache_read
    total = (
        (usage.prompt_tokens - cached) * _nano(prices.prompt)
        + cached * _nano(cache_price)
        + usage.completion_tokens * _nano(prices.completion)
    )
    return total / (_NANO * _PER_MILLION)
