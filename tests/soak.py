"""The fault soak: two tenants over streamable HTTP, thousands of mixed tool calls with every simulator
fault interleaved, cancellations and timeouts among them; afterwards the server must be as it was.

One `chutes-mcp sim` and one `chutes-mcp serve --transport http --key-source request`, each a process of
its own. Two tenants (two Chutes keys, each held to the same configured limit) call every tool through
the official client in both protocol eras, `Plan.workers` calls at a time, and through raw JSON-RPC. A
fault driver queues every scripted fault the simulator has through its control API, for one tenant, the
other, the server's own key (the catalog's) or anyone, on every route, and clears the queue now and
then. Some calls are cancelled (a 2025-era client posts `notifications/cancelled`, a 2026-era client
closes its request, a raw client drops its request), some meet their tool `timeout_s`, some the
client's own read timeout.

Afterwards: every call ended with an answer (a result, or an error in the house shape) or the way its
own client ended it, and none with `internal_error`; a fresh call per tenant succeeds straight away;
the server's descriptors and RSS are back to where they were after a warm-up of the same mix; no
tenant's limiter holds a place; and each tenant's peak upstream rate, as the simulator counted it, is
within its limit.

`python tests/soak.py` runs it against processes of its own and prints the figures; `test_soak.py`
runs it in the suite. It lives with the tests, not in `benchmarks/`: what it gives is a verdict on
invariants, with figures to show for it, and it is made of the tests' process helpers.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
from hosted_support import outcome, sim_handle, status_of
from http_support import HttpServer, http_server
from jsonrpc_support import handshake, request
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import REQUEST_TIMEOUT, CallToolResult
from mcp_support import API_KEY
from sim_process import SimProcess, sim_process

from chutes_mcp.sim.identity import demo_api_key

TOKEN = "soak-server-token-0123456789abcdef"
# Each tenant's limit: 20 requests a second, bursts of 20. The mix below offers each tenant about that
# much upstream, so the limiter has lines to keep and, now and then, calls to refuse.
RATE_LIMIT_RPM = 1200
RATE_LIMIT_BURST = 20
# The limiter lets requests go on the server's clock; the simulator counts them when its own loop gets
# to them, which on a loaded 2-core machine can lag by a quarter of a second: at 20 a second, requests
# sent that much apart may be counted in one window.
ARRIVAL_LAG_S = 0.25
ARRIVAL_SLACK = math.ceil(RATE_LIMIT_RPM / 60 * ARRIVAL_LAG_S)
# The longest any call may take before it counts as unanswered: far past the server's own deadline.
CALL_BOUND_S = 60.0
SERVER_TIMEOUT_S = 20
FRESH_TIMEOUT_S = 5
SETTLE_LIMIT_S = 30
# Fast pacing, so thousands of calls fit in a couple of minutes, yet a stream lasts long enough
# (40 tokens: 0.1 s) to be cancelled, dropped or timed out halfway; quota enough for the whole run.
SIM_CONFIG = {"ttft_ms": 10, "tokens_per_s": 400, "daily_quota": 10_000_000, "balance_usd": 1_000_000}
# The server's pool keeps up to this many idle connections to Chutes (chutes_mcp/chutes/http/pool.py).
KEEPALIVE_CONNECTIONS = 20
# At rest after the soak, the server's descriptors other than those idle connections are the ones it
# had at rest after the warm-up (the listening socket, the event loop's, the log pipe): a descriptor a
# call left open stays open. Two more are allowed for the soak's own last client connections, should
# the server not have read their close by the end of the settle.
FDS_BOUND = 2
# RSS at rest after the soak against RSS at rest after a warm-up of the same mix. Python's own heap
# does not grow over a soak (tracemalloc in the server: +0.2 MB over a third round of 3,000 calls), but
# the allocator keeps the arenas it grew at the busiest moments (48 calls, their streams, their results
# at once) and hands little back, so RSS settles a few MB higher and less so as the process ages:
# +2 to +5 MB over the first 5,200 calls after the warm-up, +0.6 MB per 4,000 by the fourth round. A
# leak of 1.6 KB a call (8 MB over 5,200 calls) fails the soak.
RSS_BOUND_MB = 8.0
FAULT_EVERY_S = 0.2
CLEAR_EVERY = 12
# Every fault the simulator scripts (chutes_mcp/sim/faults.py), with delays a short deadline meets.
FAULTS = (
    "429",
    "429-html",
    "503",
    "402",
    "500",
    "426",
    "401",
    "403",
    "midstream-error",
    "drop",
    "slow-first-byte:1500",
    "slow-tokens:150",
    "malformed",
    "ok",
)
STREAM_FAULTS = frozenset({"midstream-error", "drop", "slow-tokens:150"})
ROUTES = ("chat", "embeddings", "models", "any")
# Models without reasoning, so a few tokens make an answer; FRESH_MODEL is left out of the mix, so
# after the soak its breaker is closed for every tenant.
CHAT_MODELS = ("unsloth/Mistral-Nemo-Instruct-2407", "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE")
FRESH_MODEL = "unsloth/gemma-3-27b-it"
EMBED_MODEL = "Qwen/Qwen3-Embedding-0.6B"
Via = Literal["auto", "legacy", "raw"]
Ending = Literal["answer", "cancel", "client_timeout", "drop"]
# What a call ends with when its own client ended it, not the server.
CLIENT_ENDINGS = {"cancel": "cancelled", "client_timeout": "client_timeout", "drop": "dropped"}
# Every way a call may end here: a result, the error each fault and the limiter make, a deadline met,
# or its client ending it. Anything else (`internal_error`, no answer, a broken exchange) is a finding.
EXPECTED_OUTCOMES = {
    "ok",
    "rate_limited",
    "model_unavailable",
    "quota_exhausted",
    "tee_required",
    "auth_invalid",
    "auth_scope",
    "upstream_error",
    "network",
    "timeout",
    *CLIENT_ENDINGS.values(),
}


@dataclass(frozen=True)
class Plan:
    calls: int = 5200
    warmup_calls: int = 600
    workers: int = 48
    seed: int = 20


@dataclass(frozen=True)
class Tenant:
    name: str

    @property
    def key(self) -> str:
        return demo_api_key(self.name)

    @property
    def handle(self) -> str:
        return sim_handle(self.key)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}", "X-Chutes-Api-Key": self.key}


TENANTS = (Tenant("soak-a"), Tenant("soak-b"))


@dataclass(frozen=True)
class Call:
    tenant: Tenant
    tool: str
    arguments: dict[str, Any]
    via: Via
    ending: Ending
    progress: bool
    # When the client ends the call itself: cancel, drop or read timeout after this long.
    after_s: float


def _arguments(rng: random.Random, number: int) -> tuple[str, dict[str, Any]]:
    tool = rng.choices(
        ("chat", "embed", "list_models", "get_model", "pick_model", "account"), (40, 12, 15, 12, 11, 10)
    )[0]
    match tool:
        case "chat":
            arguments: dict[str, Any] = {
                "prompt": f"soak call {number}",
                "model": rng.choice(CHAT_MODELS),
                "max_tokens": 48,
            }
            if rng.random() < 0.15:
                arguments["timeout_s"] = 1.0
            return tool, arguments
        case "embed":
            inputs = [f"soak text {number} {i}" for i in range(rng.randint(1, 3))]
            return tool, {"input": inputs, "model": EMBED_MODEL, "encoding_format": "base64"}
        case "list_models":
            return tool, {"limit": 5, "tee_only": rng.random() < 0.5}
        case "get_model":
            return tool, {"model": rng.choice(CHAT_MODELS)}
        case "pick_model":
            return tool, {"task": rng.choice(("general", "coding", "cheap", "private")), "k": 3}
        case _:
            return tool, {}


def plan_calls(count: int, rng: random.Random) -> list[Call]:
    calls = []
    for number in range(count):
        tool, arguments = _arguments(rng, number)
        via: Via = rng.choices(("auto", "legacy", "raw"), (45, 45, 10))[0]
        ending: Ending = "answer"
        draw = rng.random()
        if via == "raw":
            ending = "drop" if draw < 0.4 else "answer"
        elif draw < 0.08:
            ending = "cancel"
        elif draw < 0.14:
            ending = "client_timeout"
        calls.append(
            Call(
                tenant=TENANTS[number % len(TENANTS)],
                tool=tool,
                arguments=arguments,
                via=via,
                ending=ending,
                progress=tool == "chat" and rng.random() < 0.6,
                after_s=rng.uniform(0.02, 1.2),
            )
        )
    return calls


# -- the clients ------------------------------------------------------------------------------------


@dataclass
class RawSession:
    """A 2025-era client speaking JSON-RPC itself, for requests it drops halfway."""

    http: httpx2.AsyncClient
    url: str
    headers: dict[str, str]
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(2))


@dataclass
class Sessions:
    sdk: dict[tuple[str, Via], Client]
    raw: dict[str, RawSession]


@asynccontextmanager
async def open_sessions(server: HttpServer, workers: int) -> AsyncIterator[Sessions]:
    limits = httpx2.Limits(max_connections=workers * 2, max_keepalive_connections=workers)
    sdk: dict[tuple[str, Via], Client] = {}
    raw: dict[str, RawSession] = {}
    async with AsyncExitStack() as stack:
        for tenant in TENANTS:
            for mode in ("auto", "legacy"):
                http = await stack.enter_async_context(
                    httpx2.AsyncClient(headers=tenant.headers, timeout=CALL_BOUND_S, limits=limits)
                )
                sdk[tenant.name, mode] = await stack.enter_async_context(
                    Client(streamable_http_client(server.url, http_client=http), mode=mode)
                )
            http = await stack.enter_async_context(
                httpx2.AsyncClient(headers=tenant.headers, timeout=CALL_BOUND_S, limits=limits)
            )
            headers = await stack.enter_async_context(handshake(http, server.url, "2025-11-25"))
            raw[tenant.name] = RawSession(http, server.url, headers)
        yield Sessions(sdk, raw)


# -- one call ---------------------------------------------------------------------------------------


async def _ignore_progress(progress: float, total: float | None, message: str | None) -> None:
    pass


async def _sdk_call(client: Client, call: Call) -> str:
    progress = _ignore_progress if call.progress else None
    if call.ending == "cancel":
        with anyio.move_on_after(call.after_s) as scope:
            result = await client.call_tool(call.tool, call.arguments, progress_callback=progress)
        return "cancelled" if scope.cancelled_caught else outcome(result)
    timeout = call.after_s if call.ending == "client_timeout" else None
    try:
        result = await client.call_tool(
            call.tool, call.arguments, read_timeout_seconds=timeout, progress_callback=progress
        )
    except MCPError as exc:
        if exc.code == REQUEST_TIMEOUT and call.ending == "client_timeout":
            return "client_timeout"
        raise
    return outcome(result)


async def _raw_call(session: RawSession, call: Call) -> str:
    params: dict[str, Any] = {"name": call.tool, "arguments": call.arguments}
    if call.progress:
        params["_meta"] = {"progressToken": "soak"}
    body = request(next(session.ids), "tools/call", params)
    answer: dict[str, Any] | None = None
    async with session.http.stream("POST", session.url, json=body, headers=session.headers) as response:
        response.raise_for_status()
        with anyio.move_on_after(call.after_s if call.ending == "drop" else CALL_BOUND_S):
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    message = json.loads(line.removeprefix("data: "))
                    if "id" in message:
                        answer = message
        # Leaving the block closes the response: a drop, when no answer came first.
    if answer is None:
        return "dropped" if call.ending == "drop" else "no_answer"
    if "error" in answer:
        return f"jsonrpc_error:{answer['error'].get('code')}"
    return outcome(CallToolResult.model_validate(answer["result"]))


async def perform(sessions: Sessions, call: Call) -> str:
    """How the call ended: `ok`, an error code, how its client ended it, or what went wrong."""
    try:
        with anyio.fail_after(CALL_BOUND_S):
            if call.via == "raw":
                return await _raw_call(sessions.raw[call.tenant.name], call)
            return await _sdk_call(sessions.sdk[call.tenant.name, call.via], call)
    except TimeoutError:
        return "no_answer"
    except Exception as exc:  # anything else is a finding, named by its type
        return f"broken:{type(exc).__name__}: {str(exc)[:120]}"


# -- faults -----------------------------------------------------------------------------------------


async def drive_faults(http: httpx2.AsyncClient, sim: SimProcess, rng: random.Random) -> None:
    """Queue faults for ever (until cancelled): every kind in turn, on a random route, for a random
    caller; the queue is cleared every `CLEAR_EVERY` scripts, so faults also end mid-run."""
    callers = [tenant.handle for tenant in TENANTS]
    for number, fault in enumerate(itertools.cycle(FAULTS), start=1):
        route = "chat" if fault in STREAM_FAULTS else rng.choice(ROUTES)
        # The catalog (route `models`) is fetched with the server's own key.
        whose = [sim_handle(API_KEY), None] if route == "models" else [*callers, None]
        scenario = {"faults": [fault] * rng.randint(1, 3), "route": route, "caller": rng.choice(whose)}
        (await http.post(f"{sim.url}/_sim/scenario", json=scenario)).raise_for_status()
        if number % CLEAR_EVERY == 0:
            (await http.delete(f"{sim.url}/_sim/scenario")).raise_for_status()
        await anyio.sleep(FAULT_EVERY_S)


# -- the server process -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """The server process at rest."""

    fds: int
    upstream_fds: int
    """Of `fds`, the sockets to the simulator: the HTTP pool's idle connections, which it keeps alive
    (up to `KEEPALIVE_CONNECTIONS`, for a minute) by design."""
    rss_mb: float

    @property
    def own_fds(self) -> int:
        return self.fds - self.upstream_fds


def read_process(pid: int, upstream_port: int) -> Reading:
    sockets = set()
    fds = 0
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        fds += 1
        with contextlib.suppress(OSError):  # closed since listed
            target = entry.readlink().name
            if target.startswith("socket:["):
                sockets.add(target.removeprefix("socket:[").removesuffix("]"))
    upstream = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            columns = line.split()  # local, remote (hex host:port), ..., inode
            if columns[9] in sockets and int(columns[2].rsplit(":", 1)[1], 16) == upstream_port:
                upstream += 1
    rss_kb = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return Reading(fds, upstream, round(rss_kb / 1024, 1))


async def settle(pid: int, sim: SimProcess) -> Reading:
    """Wait until no stream is open upstream and the server's descriptors stay the same for a second
    (the clients' connections closed), then read the process."""
    port = int(sim.url.rsplit(":", 1)[1])
    with anyio.fail_after(SETTLE_LIMIT_S):
        while sim.stats()["streams"]["open"]:  # noqa: ASYNC110 (another process's state)
            await anyio.sleep(0.1)
        last, steady = read_process(pid, port), 0
        while steady < 10:
            await anyio.sleep(0.1)
            now = read_process(pid, port)
            steady = steady + 1 if (now.fds, now.upstream_fds) == (last.fds, last.upstream_fds) else 0
            last = now
    return last


# -- the run ----------------------------------------------------------------------------------------


def rate_bound(window_s: int) -> int:
    """The most requests the limit lets through within any `window_s` seconds: the burst, and the
    rate over the window."""
    return RATE_LIMIT_BURST + RATE_LIMIT_RPM * window_s // 60


@dataclass
class Report:
    plan: Plan
    wall_s: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    by_tool: dict[str, Counter[str]] = field(default_factory=dict)
    before: Reading | None = None
    after: Reading | None = None
    fresh: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Outcome and milliseconds of each call made straight after the soak."""
    limiters: dict[str, dict[str, Any]] = field(default_factory=dict)
    upstream: dict[str, dict[str, int]] = field(default_factory=dict)
    faults_served: dict[str, int] = field(default_factory=dict)
    streams: dict[str, int] = field(default_factory=dict)
    server_log_errors: list[str] = field(default_factory=list)
    server_warnings: Counter[str] = field(default_factory=Counter)
    """The server's warnings and errors by event: the expected ones (a catalog refresh that met a
    fault) as much as any other."""

    def problems(self) -> list[str]:
        """What breaks the soak's invariants; empty when it passed."""
        found = []
        if sum(self.outcomes.values()) != self.plan.calls:
            found.append(f"{sum(self.outcomes.values())} of {self.plan.calls} calls accounted for")
        unexplained = {k: v for k, v in self.outcomes.items() if k not in EXPECTED_OUTCOMES}
        if unexplained:
            found.append(f"calls that ended in no answer or an unexpected one: {unexplained}")
        for ending in CLIENT_ENDINGS.values():
            if not self.outcomes[ending]:
                found.append(f"no call ended {ending}: the soak did not exercise it")
        if not self.outcomes["timeout"]:
            found.append("no call met its timeout_s: the soak did not exercise it")
        missing = [fault for fault in FAULTS if fault != "ok" and not self.faults_served.get(fault)]
        if missing:
            found.append(f"faults never served: {missing}")
        found += [f"fresh call {name}: {ended}" for name, (ended, _) in self.fresh.items() if ended != "ok"]
        for name, limiter in self.limiters.items():
            sent = self.upstream[name]
            if limiter["waiting"] or limiter["next_slot_in_s"]:
                found.append(f"{name}'s limiter holds a place after the soak: {limiter}")
            if sent["requests"] > limiter["acquired"]:
                found.append(f"{name}: {sent['requests']} requests upstream, {limiter['acquired']} slots")
            for window in (1, 60):
                if sent[f"peak_per_{window}s"] > rate_bound(window) + ARRIVAL_SLACK:
                    found.append(f"{name}: {sent[f'peak_per_{window}s']} requests within {window} s")
        if self.streams.get("open"):
            found.append(f"{self.streams['open']} upstream streams still open")
        if self.before and self.after:
            if abs(self.after.own_fds - self.before.own_fds) > FDS_BOUND:
                found.append(f"descriptors {self.before} -> {self.after}")
            if self.after.upstream_fds > KEEPALIVE_CONNECTIONS:
                found.append(f"{self.after.upstream_fds} idle upstream connections")
            if abs(self.after.rss_mb - self.before.rss_mb) > RSS_BOUND_MB:
                found.append(f"RSS {self.before.rss_mb} -> {self.after.rss_mb} MB")
        found += [f"server log: {line}" for line in self.server_log_errors[:5]]
        return found

    def figures(self) -> str:
        total = sum(self.outcomes.values())
        lines = [
            f"soak: {total:,} calls in {self.wall_s:.0f} s ({total / max(self.wall_s, 1e-9):.0f}/s, "
            f"{self.plan.workers} at a time, after {self.plan.warmup_calls:,} to warm up)",
            "calls by outcome: " + _counts(self.outcomes),
        ]
        lines += [f"  {tool}: {_counts(ended)}" for tool, ended in sorted(self.by_tool.items())]
        for name, sent in self.upstream.items():
            limiter = self.limiters.get(name, {})
            lines.append(
                f"{name}: {sent['requests']:,} requests upstream; peak {sent['peak_per_1s']} in 1 s "
                f"(limit {rate_bound(1)}), {sent['peak_per_60s']} in 60 s (limit {rate_bound(60)}); "
                f"limiter: {limiter.get('acquired')} sent, {limiter.get('delayed')} delayed, "
                f"{limiter.get('refused')} refused, {limiter.get('abandoned')} abandoned, "
                f"{limiter.get('waiting')} waiting, next slot in {limiter.get('next_slot_in_s')} s"
            )
        if self.before and self.after:
            lines.append(
                f"server fds {self.before.fds} -> {self.after.fds} (of which idle upstream connections "
                f"{self.before.upstream_fds} -> {self.after.upstream_fds}); "
                f"RSS {self.before.rss_mb} -> {self.after.rss_mb} MB"
            )
        lines.append(
            "fresh calls: "
            + ", ".join(f"{name} {ended} ({ms} ms)" for name, (ended, ms) in self.fresh.items())
        )
        lines.append("faults served: " + _counts(Counter(self.faults_served)))
        lines.append("upstream streams: " + json.dumps(self.streams))
        lines.append("server warnings and errors: " + (_counts(self.server_warnings) or "none"))
        return "\n".join(lines)


# A console log line's level and event: `2026-... [warning  ] catalog_refresh_failed ...`.
_WARNING = re.compile(r"\[(warning|error|critical)\s*\] (\S+)")


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{key} {count:,}" for key, count in counter.most_common())


async def _run_calls(
    server: HttpServer, sim: SimProcess, calls: list[Call], workers: int, rng: random.Random
) -> Counter[tuple[str, str]]:
    """Make `calls`, `workers` at a time, while faults come and go; (tool, outcome) counts."""
    ended: Counter[tuple[str, str]] = Counter()
    queue = iter(calls)

    async def worker(sessions: Sessions) -> None:
        for call in queue:
            ended[call.tool, await perform(sessions, call)] += 1

    async with httpx2.AsyncClient(timeout=10) as control, open_sessions(server, workers) as sessions:
        async with anyio.create_task_group() as faults:
            faults.start_soon(drive_faults, control, sim, rng)
            async with anyio.create_task_group() as group:
                for _ in range(workers):
                    group.start_soon(worker, sessions)
            faults.cancel_scope.cancel()
        (await control.delete(f"{sim.url}/_sim/scenario")).raise_for_status()
    return ended


@asynccontextmanager
async def _client(server: HttpServer, tenant: Tenant) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=tenant.headers, timeout=30) as http,
        Client(streamable_http_client(server.url, http_client=http)) as client,
    ):
        yield client


async def _fresh_calls(server: HttpServer) -> dict[str, tuple[str, int]]:
    """Straight after the soak, per tenant: its account (no breaker in the way) and a chat on a model
    the soak left alone, each with a deadline too short to wait out anything; and a newcomer's chat on
    a model the soak faulted, which no other tenant's breaker may touch."""
    found: dict[str, tuple[str, int]] = {}
    fresh_chat: dict[str, Any] = {"prompt": "fresh", "model": FRESH_MODEL, "timeout_s": FRESH_TIMEOUT_S}
    calls: list[tuple[Tenant, str, dict[str, Any]]] = [(tenant, "account", {}) for tenant in TENANTS]
    calls += [(tenant, "chat", fresh_chat) for tenant in TENANTS]
    calls.append((Tenant("soak-newcomer"), "chat", {**fresh_chat, "model": CHAT_MODELS[0]}))
    for tenant, tool, arguments in calls:
        async with _client(server, tenant) as client:
            began = time.perf_counter()
            ended = outcome(await client.call_tool(tool, arguments))
            found[f"{tenant.name} {tool}"] = (ended, round((time.perf_counter() - began) * 1000))
    return found


async def run(sim: SimProcess, server: HttpServer, plan: Plan) -> Report:
    assert server.process is not None
    pid = server.process.pid
    rng = random.Random(plan.seed)
    report = Report(plan)
    httpx2.patch(f"{sim.url}/_sim/config", json=SIM_CONFIG).raise_for_status()
    # A warm-up of the same mix: imports, caches, pools and the allocator's arenas all grow to their
    # working size before the figures that must come back are read.
    await _run_calls(server, sim, plan_calls(plan.warmup_calls, rng), plan.workers, rng)
    report.before = await settle(pid, sim)
    started = time.monotonic()
    ended = await _run_calls(server, sim, plan_calls(plan.calls, rng), plan.workers, rng)
    report.wall_s = time.monotonic() - started
    for (tool, how), count in ended.items():
        report.outcomes[how] += count
        report.by_tool.setdefault(tool, Counter())[how] += count
    report.after = await settle(pid, sim)
    stats = sim.stats()
    report.upstream = {tenant.name: stats["callers"][tenant.handle] for tenant in TENANTS}
    report.faults_served = stats["faults_served"]
    report.streams = stats["streams"]
    for tenant in TENANTS:
        async with _client(server, tenant) as client:
            report.limiters[tenant.name] = (await status_of(client))["limiter"]
    report.fresh = await _fresh_calls(server)
    report.server_log_errors = [
        line.strip() for line in server.log_lines if "internal_error" in line or "Traceback" in line
    ]
    for line in server.log_lines:
        if found := _WARNING.search(line):
            report.server_warnings[found.group(2)] += 1
    return report


@contextmanager
def soak_server(sim: SimProcess, cache_dir: Path) -> Iterator[HttpServer]:
    """The server the tenants share: each caller's own key, each held to the soak's limit; one retry;
    the catalog refreshed every few seconds, so faults on `models` meet it."""
    with http_server(
        sim,
        cache_dir,
        "--key-source",
        "request",
        "--auth-token",
        TOKEN,
        CHUTES_RATE_LIMIT_RPM=str(RATE_LIMIT_RPM),
        CHUTES_RATE_LIMIT_BURST=str(RATE_LIMIT_BURST),
        CHUTES_MAX_RETRIES="1",
        CHUTES_TIMEOUT_S=str(SERVER_TIMEOUT_S),
        CHUTES_CACHE_TTL_S="3",
    ) as server:
        yield server


def main() -> int:
    parser = argparse.ArgumentParser(prog="python tests/soak.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=Plan.calls, help="calls after the warm-up")
    parser.add_argument("--workers", type=int, default=Plan.workers, help="calls at a time")
    parser.add_argument("--seed", type=int, default=Plan.seed)
    options = parser.parse_args()
    plan = Plan(calls=options.calls, workers=options.workers, seed=options.seed)
    with (
        sim_process() as sim,
        tempfile.TemporaryDirectory() as cache_dir,
        soak_server(sim, Path(cache_dir)) as server,
    ):
        report = anyio.run(run, sim, server, plan)
    print(report.figures())
    problems = report.problems()
    print("\n".join(["problems:", *problems]) if problems else "no problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
