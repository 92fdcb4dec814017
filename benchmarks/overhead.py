"""1. Per-call overhead: `chat` through MCP (stdio, HTTP) against the same request sent straight to the
simulator, with the SDK's floor (a no-op tool served the same way) measured in the same rounds.

Each round makes one call of every kind, in a rotating order, so drift affects all of them alike.
Added = chat through MCP − direct; ours on top of the floor = chat − direct − no-op (the transport and
the SDK's dispatch cost the no-op as much as they cost `chat`).

Part of that difference is spent in the client, not in our server: the SDK's client checks every
structured result against the tool's output schema (with jsonschema); the no-op's schema has one field,
`chat`'s has 29 to walk. The check is timed inside the measured calls themselves, around the SDK's own
`validate_tool_result`, for both tools over both transports: their difference is the check's share of
"ours". What is left is the server's work and the wait for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from mcp import Client

from benchmarks.measure import Summary, now_ms, summarize
from benchmarks.report import Section, ms, p50_p95
from benchmarks.rig import Plan, Rig

WARMUP_ROUNDS = 30
OURS_ON_FLOOR_TARGET_MS = 0.5
ADDED_TARGET_MS = {"stdio": 2.0, "http": 3.0}


async def timed_rounds(
    calls: dict[str, Callable[[], Awaitable[object]]], rounds: int
) -> dict[str, list[float]]:
    labels = list(calls)
    samples: dict[str, list[float]] = {label: [] for label in labels}
    for number in range(WARMUP_ROUNDS + rounds):
        shift = number % len(labels)
        for label in labels[shift:] + labels[:shift]:
            started = now_ms()
            await calls[label]()
            if number >= WARMUP_ROUNDS:
                samples[label].append(now_ms() - started)
    return samples


async def run(rig: Rig, plan: Plan) -> Section:
    section = Section("1 overhead")
    calls: dict[str, Callable[[], Awaitable[object]]] = {"direct": rig.direct.stream, **rig.calls()}
    clients = {
        "chat stdio": rig.ours_stdio,
        "noop stdio": rig.floor_stdio,
        "chat http": rig.ours_http_client,
        "noop http": rig.floor_http_client,
    }
    checks: dict[str, list[float]] = {label: [] for label in clients}
    with ExitStack() as timing:
        for label, client in clients.items():
            timing.enter_context(_timed_schema_checks(client, checks[label]))
        samples = await timed_rounds(calls, plan.overhead_rounds)
    check_summaries = {label: summarize(values[WARMUP_ROUNDS:]) for label, values in checks.items()}
    summaries = {label: summarize(values) for label, values in samples.items()}
    direct = summaries["direct"]
    section.data = {
        "model": rig.model,
        "summaries_ms": {k: v.as_dict() for k, v in summaries.items()},
        "client_schema_check_ms": {k: v.as_dict() for k, v in check_summaries.items()},
    }
    section.row("direct to simulator (p50/p95)", p50_p95(direct))
    for transport in ("stdio", "http"):
        chat, noop = summaries[f"chat {transport}"], summaries[f"noop {transport}"]
        section.row(f"chat via MCP {transport} (p50/p95)", p50_p95(chat))
        section.row(f"no-op via MCP {transport}, SDK floor (p50/p95)", p50_p95(noop))
        added = _added(chat, direct)
        section.data[f"added_{transport}_ms"] = added
        target = ADDED_TARGET_MS[transport]
        section.row(
            f"added by MCP {transport} vs direct (p50/p95, ratio)",
            f"{added['p50']:.2f} / {added['p95']:.2f} ms, x{chat.p50 / direct.p50:.2f}",
            f"p50 <= {target:g} ms",
            added["p50"] <= target,
        )
        ours = chat.p50 - direct.p50 - noop.p50
        section.data[f"ours_on_floor_{transport}_p50_ms"] = round(ours, 4)
        section.row(
            f"ours on top of the floor, {transport} (p50)",
            ms(ours),
            f"<= {OURS_ON_FLOOR_TARGET_MS:g} ms",
            ours <= OURS_ON_FLOOR_TARGET_MS,
        )
        chat_check, noop_check = check_summaries[f"chat {transport}"], check_summaries[f"noop {transport}"]
        check = chat_check.p50 - noop_check.p50
        section.data[f"ours_on_floor_{transport}_less_client_check_p50_ms"] = round(ours - check, 4)
        section.row(
            f"  of which the SDK client's output-schema check, chat minus no-op, {transport} (p50)",
            f"{ms(check)} ({ms(chat_check.p50)} - {ms(noop_check.p50)})",
        )
        section.row(f"  ours without that check, {transport}", ms(ours - check))
    return section


@contextmanager
def _timed_schema_checks(client: Client, into: list[float]) -> Iterator[None]:
    """Time the SDK client's check of each result against the tool's output schema, as the call runs
    it (`call_tool` looks the method up on the session, so an instance attribute takes its place)."""
    session = client.session
    check = session.validate_tool_result

    async def timed(name: str, result: Any) -> None:
        started = now_ms()
        try:
            await check(name, result)
        finally:
            into.append(now_ms() - started)

    session.validate_tool_result = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        del session.validate_tool_result


def _added(chat: Summary, direct: Summary) -> dict[str, float]:
    return {"p50": round(chat.p50 - direct.p50, 4), "p95": round(chat.p95 - direct.p95, 4)}
