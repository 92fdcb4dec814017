"""One object holds everything a running simulator knows; routes reach it through `request.app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from chutes_mcp.sim.catalog import Catalog, load_capture
from chutes_mcp.sim.fault_responses import error_response
from chutes_mcp.sim.faults import Fault, FaultBook, FaultKind, FaultSyntaxError
from chutes_mcp.sim.identity import Identity, Principal
from chutes_mcp.sim.responses import detail
from chutes_mcp.sim.stats import Stats


@dataclass
class SimOptions:
    host: str = "127.0.0.1"
    port: int = 8089
    catalog_path: str | None = None
    seed: int = 0
    ttft_ms: int = 0
    tokens_per_s: int = 0


@dataclass
class UserAlias:
    alias: str
    chute_ids: list[str]


@dataclass
class SimState:
    options: SimOptions
    catalog: Catalog
    stats: Stats = field(default_factory=Stats)
    faults: FaultBook = field(default_factory=FaultBook)
    identity: Identity = field(default_factory=Identity)
    # Per-user aliases from `/model_aliases/`, usable as `model` (reference §3.1 step 10).
    aliases: dict[str, dict[str, UserAlias]] = field(default_factory=dict)
    ttft_ms: int = 0
    tokens_per_s: int = 0
    # Words in a free-text answer; 0 means each answer's natural length (20-60 words).
    answer_tokens: int = 0

    @classmethod
    def from_options(cls, options: SimOptions) -> SimState:
        return cls(
            options=options,
            catalog=Catalog(load_capture(options.catalog_path)),
            ttft_ms=options.ttft_ms,
            tokens_per_s=options.tokens_per_s,
        )

    def reset(self) -> None:
        """Back to the state at start: the catalog, counters, scripts, accounts and knobs."""
        self.reset_catalog()
        self.stats.reset()
        self.faults.reset()
        self.identity = Identity()
        self.aliases.clear()
        self.ttft_ms = self.options.ttft_ms
        self.tokens_per_s = self.options.tokens_per_s
        self.answer_tokens = 0

    def reset_catalog(self) -> None:
        self.catalog = Catalog(load_capture(self.options.catalog_path))

    def replace_catalog(self, entries: list[dict[str, Any]]) -> None:
        self.catalog = Catalog(entries)

    def knobs(self) -> dict[str, float]:
        return {
            "ttft_ms": self.ttft_ms,
            "tokens_per_s": self.tokens_per_s,
            "answer_tokens": self.answer_tokens,
            "access_token_ttl_s": self.identity.access_token_ttl_s,
            "balance_usd": self.identity.default_balance_usd,
            "daily_quota": self.identity.default_daily_quota,
        }

    def configure(
        self,
        *,
        ttft_ms: float | None = None,
        tokens_per_s: float | None = None,
        answer_tokens: float | None = None,
        access_token_ttl_s: float | None = None,
        balance_usd: float | None = None,
        daily_quota: float | None = None,
    ) -> None:
        """Change latency, answer length, token lifetime or account defaults; balance and quota apply to
        every account."""
        if ttft_ms is not None:
            self.ttft_ms = int(ttft_ms)
        if tokens_per_s is not None:
            self.tokens_per_s = int(tokens_per_s)
        if answer_tokens is not None:
            self.answer_tokens = int(answer_tokens)
        identity = self.identity
        if access_token_ttl_s is not None:
            identity.access_token_ttl_s = int(access_token_ttl_s)
        if balance_usd is not None:
            identity.default_balance_usd = float(balance_usd)
            for account in identity.accounts.values():
                account.balance_usd = float(balance_usd)
        if daily_quota is not None:
            identity.default_daily_quota = int(daily_quota)
            for account in identity.accounts.values():
                account.daily_quota = int(daily_quota)

    async def take_fault(
        self, request: Request, *, route: str, model: str | None, principal: Principal | None
    ) -> Fault | Response | None:
        """The scripted fault for this request, already counted; a ready error response where the
        fault replaces the answer; None for normal service. A `slow-first-byte` delay is applied here."""
        try:
            fault = self.faults.next_fault(
                route=route,
                model=model,
                header=request.headers.get("x-sim-fault"),
                caller=principal.handle if principal else "anonymous",
                session=request.headers.get("x-sim-session", ""),
            )
        except FaultSyntaxError as exc:
            return detail(400, f"X-Sim-Fault: {exc}")
        if fault is None or fault.kind is FaultKind.OK:
            return None
        self.stats.record_fault(fault.label)
        if fault.kind is FaultKind.SLOW_FIRST_BYTE:
            await anyio.sleep(fault.ms / 1000)
            return None
        chute_id = (
            self.catalog.chute_id_of(model) if model else None
        ) or "00000000-0000-0000-0000-000000000000"
        return error_response(fault, chute_id) or fault
