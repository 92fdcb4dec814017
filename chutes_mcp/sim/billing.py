"""Counting an invocation against the caller's daily quota, and charging it when over quota."""

from __future__ import annotations

from chutes_mcp.sim.identity import Account
from chutes_mcp.sim.responses import invocation_headers


def over_quota_without_balance(account: Account) -> bool:
    """When chutes-api answers 402: the day's quota is used up and there is no balance to fall back on."""
    return account.balance_usd <= 0 and account.used_today >= account.daily_quota


def invoice(account: Account, cost_usd: float) -> dict[str, str]:
    """The invocation headers (quota figures from before this call), then count and charge the call.

    Within the daily quota a call is covered by the subscription; over it, a positive balance pays
    as you go (reference §7.2).
    """
    headers = invocation_headers(account)
    over_quota = account.used_today >= account.daily_quota
    account.used_today += 1
    if over_quota:
        account.balance_usd -= cost_usd
        account.spent_usd += cost_usd
    return headers
