from __future__ import annotations

import pytest

from chutes_mcp.chutes.chat.cost import TokenPrices, cost_usd
from chutes_mcp.chutes.types import Usage

GLM = TokenPrices(prompt=0.38, completion=1.7, cache_read=0.19)


@pytest.mark.parametrize(
    ("usage", "prices", "expected"),
    [
        (Usage(prompt_tokens=1_000_000, completion_tokens=0), GLM, 0.38),
        (Usage(prompt_tokens=0, completion_tokens=1_000_000), GLM, 1.7),
        (Usage(prompt_tokens=12, completion_tokens=40), GLM, 0.00007256),
        # 1000 prompt of which 400 cached: 600*0.38 + 400*0.19 + 100*1.7 = 228 + 76 + 170 = 474 per 1M
        (Usage(prompt_tokens=1000, completion_tokens=100, cached_tokens=400), GLM, 0.000474),
        (Usage(prompt_tokens=10, completion_tokens=0, cached_tokens=50), GLM, 0.0000019),  # cached capped
        (Usage(prompt_tokens=1000, completion_tokens=0, cached_tokens=1000), TokenPrices(0.1, 0.2), 0.0001),
        (Usage(), GLM, 0.0),
        # Prices whose float products are not exact: 3 * 0.1 is 0.30000000000000004 in floats.
        (Usage(prompt_tokens=3, completion_tokens=7), TokenPrices(0.1, 0.7), 0.0000052),
        (
            Usage(prompt_tokens=123_456_789, completion_tokens=0),
            TokenPrices(0.123456789, 0),
            15.241578750190522,
        ),
    ],
)
def test_cost_is_exact(usage: Usage, prices: TokenPrices, expected: float) -> None:
    assert cost_usd(usage, prices) == expected
