"""`account`: the balance and daily request quota of the configured Chutes credential."""

from __future__ import annotations

from pydantic import BaseModel, Field

from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.toolkit import READ_ONLY, Reply, ToolArguments, ToolContext, ToolSpec


class AccountArgs(ToolArguments):
    """No arguments: the account is the one whose credential the server was started with."""


class AccountInfo(BaseModel):
    username: str | None = Field(description="The Chutes user name.")
    user_id: str | None = Field(description="The Chutes user id.")
    balance_usd: float | None = Field(description="Pay-as-you-go balance in US dollars.")
    daily_quota: int | str | None = Field(
        description='Requests per UTC day included in the subscription, or "unlimited".'
    )
    daily_used: float | None = Field(description="Requests counted against today's quota so far.")
    daily_remaining: float | None = Field(description="Requests left today, when the quota is a number.")


async def account(runtime: Runtime, args: AccountArgs, ctx: ToolContext) -> Reply[AccountInfo]:
    me = await runtime.client.me()
    quota = await runtime.client.quota()
    remaining = quota.quota - quota.used if isinstance(quota.quota, int) else None
    balance = me.get("balance")
    info = AccountInfo(
        username=me.get("username"),
        user_id=me.get("user_id"),
        balance_usd=float(balance) if isinstance(balance, int | float) else None,
        daily_quota=quota.quota,
        daily_used=quota.used,
        daily_remaining=remaining,
    )
    quota_text = (
        f"{quota.used:g} of {quota.quota} requests used today" if remaining is not None else "no daily quota"
    )
    balance_text = "unknown" if info.balance_usd is None else f"${info.balance_usd:.2f}"
    return Reply(info, f"{info.username or 'Chutes account'}: balance {balance_text}; {quota_text}.")


SPEC = ToolSpec(
    name="account",
    title="Chutes account",
    description="Balance (USD) and daily request quota of the Chutes account the server uses.",
    args=AccountArgs,
    output=AccountInfo,
    annotations=READ_ONLY,
    body=account,
)
