"""(f) Ramp: how many `chat` calls one server process relays at once, and two replicas behind nginx.

The simulator answers like a busy model: first token at 1 s, then 20 tokens a second, 60 tokens, so a
call takes 4.0 s at best (the ideal). A load generator in a process of its own (`load.py`) holds 50,
200, 500 and then 1,000 calls in flight, each worker sending its next call when the last one ends.
Per level, after a warm-up, a steady window; per window:

- completed calls per second, and p50 / p95 of the calls that started in it, against the ideal;
- errors: every call of the level that did not end in a good answer;
- server CPU (all its threads; both replicas added up) as a share of one core, its RSS (median of one
  reading a second) above the RSS it had idle, per call in flight;
- new upstream connections: TCP connections the simulator accepted in the window (its own count,
  less those of the bench's stats readings), per 1,000 completed calls;
- the load generator's own CPU, to show whether it, and not the server, was the limit.

Three setups, one after the other against one simulator: one `serve --transport http` process; two
replicas sharing Redis behind nginx (round-robin, as `tests/test_topology.py` runs them); and, at
1,000 only, the load generator straight at the simulator, the floor of what this machine serves at all.
The chart (`ramp.svg`, matplotlib) draws p50 and p95 against the calls in flight, with the single
process's figures before the capacity work (`BEFORE`) for comparison.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx2

from benchmarks import processes
from benchmarks.measure import percentile
from benchmarks.report import RESULTS, Section
from benchmarks.rig import MODEL, pace
from chutes_mcp.sim.identity import demo_api_key

LEVELS = (50, 200, 500, 1000)
QUICK_LEVELS = (50, 200)
TTFT_MS, TOKENS_PER_S, ANSWER_TOKENS = 1000, 20, 60
IDEAL_S = TTFT_MS / 1000 + ANSWER_TOKENS / TOKENS_PER_S
# Workers start within one second, and the first calls end one ideal call later: the window starts
# once every worker has finished a call or two.
WARMUP_S = 2 * IDEAL_S
# Whole ideal calls, so that at the ideal pace every worker ends the same number of calls in it.
WINDOW_S = 8 * IDEAL_S
QUICK_WINDOW_S = 3 * IDEAL_S
# Time for the load generator's Python to start before its clock begins.
LOAD_START_S = 1.5
SETTLE_S = 3.0
KEY_SECRET = "ramp-benchmark-key-secret-of-32-characters"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": "2025-11-25"}
TARGET_P50_X = 1.05
Y_TICKS = (1, 1.5, 2, 3, 5, 10)
TARGET_RSS_KB = 100
TARGET_CONNECTIONS_PER_1000 = 10
SECTION = "f ramp"
CHART = Path(__file__).resolve().parent / "ramp.svg"
QUICK_CHART = RESULTS / "ramp-quick.svg"
# The single process's ramp on main before the capacity work (the pool of 100, 20 kept alive).
BEFORE = RESULTS / "20261206T044833Z-ramp-before.json"


@dataclass(frozen=True)
class Setup:
    name: str
    url: str
    kind: str
    server_pids: tuple[int, ...]
    """Added up as "the server"."""
    helper_pids: dict[str, int]
    """The simulator, nginx, Redis: reported on their own."""
    headers: dict[str, str]


def ideal_x(seconds: float) -> float:
    return round(seconds / IDEAL_S, 3)


async def _stats(sim_url: str) -> dict[str, Any]:
    # A connection of its own per reading, so each reading adds exactly one to the simulator's count.
    async with httpx2.AsyncClient(timeout=30) as control:
        response = await control.get(f"{sim_url}/_sim/stats")
        response.raise_for_status()
        stats: dict[str, Any] = response.json()
        return stats


async def _level(
    setup: Setup, sim_url: str, in_flight: int, window_s: float, idle_rss_mb: float
) -> dict[str, Any]:
    start_ns = time.monotonic_ns() + int(LOAD_START_S * 1e9)
    window_start_ns = start_ns + int(WARMUP_S * 1e9)
    window_end_ns = window_start_ns + int(window_s * 1e9)
    plan = {
        "kind": setup.kind,
        "url": setup.url,
        "in_flight": in_flight,
        "model": MODEL,
        "start_ns": start_ns,
        "stop_ns": window_end_ns,
        "headers": setup.headers,
    }
    output: dict[str, Any] = {}

    async def generate() -> None:
        done = await anyio.run_process(
            [sys.executable, "-m", "benchmarks.load"], input=json.dumps(plan).encode(), cwd=processes.ROOT
        )
        output.update(json.loads(done.stdout))

    pids = {**{f"server{i}": pid for i, pid in enumerate(setup.server_pids)}, **setup.helper_pids}
    async with anyio.create_task_group() as group:
        group.start_soon(generate)
        await anyio.sleep((window_start_ns - time.monotonic_ns()) / 1e9)
        stats_before = await _stats(sim_url)
        cpu_before = {name: processes.cpu_s(pid) for name, pid in pids.items()}
        load_at_start = os.getloadavg()
        rss: list[float] = []
        while time.monotonic_ns() < window_end_ns - int(1e9):
            rss.append(sum(processes.rss_mb(pid) for pid in setup.server_pids))
            await anyio.sleep(1.0)
        await anyio.sleep(max(0.0, (window_end_ns - time.monotonic_ns()) / 1e9))
        cpu_share = {name: (processes.cpu_s(pid) - cpu_before[name]) / window_s for name, pid in pids.items()}
        stats_after = await _stats(sim_url)
    return _summary(
        in_flight,
        window_s,
        (window_start_ns, window_end_ns),
        output,
        cpu_share,
        statistics.median(rss) - idle_rss_mb,
        stats_after["tcp_connections"] - stats_before["tcp_connections"] - 1,
        {
            "at_window_start": [round(v, 2) for v in load_at_start],
            "at_end": [round(v, 2) for v in os.getloadavg()],
        },
        setup,
    )


def _summary(
    in_flight: int,
    window_s: float,
    window: tuple[int, int],
    output: dict[str, Any],
    cpu_share: dict[str, float],
    rss_growth_mb: float,
    new_connections: int,
    load: dict[str, list[float]],
    setup: Setup,
) -> dict[str, Any]:
    records = output["records"]
    start, end = window
    in_window = [(e - s) / 1e9 for s, e, error in records if start <= s < end and not error]
    completed = sum(1 for _, e, error in records if start <= e < end and not error)
    errors = Counter(error for _, _, error in records if error)
    server_cpu = sum(share for name, share in cpu_share.items() if name.startswith("server"))
    return {
        "in_flight": in_flight,
        "window_s": window_s,
        "calls": len(records),
        "completed_per_s": round(completed / window_s, 1),
        "p50_s": round(statistics.median(in_window), 3) if in_window else None,
        "p95_s": round(percentile(in_window, 0.95), 3) if in_window else None,
        "p50_x_ideal": ideal_x(statistics.median(in_window)) if in_window else None,
        "p95_x_ideal": ideal_x(percentile(in_window, 0.95)) if in_window else None,
        "errors": sum(errors.values()),
        "errors_by_kind": dict(errors),
        "error_samples": output["error_samples"],
        "server_cpu_share_of_a_core": round(server_cpu, 3),
        "other_cpu_share_of_a_core": {
            name: round(share, 3) for name, share in cpu_share.items() if not name.startswith("server")
        },
        "load_generator_cpu_share_of_a_core": round(output["cpu_s"] / output["wall_s"], 3),
        "server_rss_growth_mb": round(rss_growth_mb, 1),
        "rss_kb_per_stream": round(rss_growth_mb * 1024 / in_flight, 1) if setup.server_pids else None,
        "new_upstream_connections": new_connections,
        "new_upstream_connections_per_1000_calls": round(new_connections * 1000 / completed, 1)
        if completed
        else None,
        "load_average_1_5_15": load,
    }


async def _ramp(setup: Setup, sim_url: str, levels: Sequence[int], window_s: float) -> list[dict[str, Any]]:
    idle = sum(processes.rss_mb(pid) for pid in setup.server_pids)
    results = []
    for in_flight in levels:
        result = await _level(setup, sim_url, in_flight, window_s, idle)
        sys.stderr.write(f"ramp {setup.name} {in_flight}: {json.dumps(result)}\n")
        sys.stderr.flush()
        results.append(result)
        await anyio.sleep(SETTLE_S)
    return results


async def _warm_up(url: str) -> None:
    """One call first, so the catalog is fetched and lazy imports are done before the idle RSS."""
    params = {"name": "chat", "arguments": {"prompt": "warm up", "model": MODEL}}
    call = {"jsonrpc": "2.0", "id": 0, "method": "tools/call", "params": params}
    async with httpx2.AsyncClient(timeout=60) as http:
        response = await http.post(url, json=call, headers=MCP_HEADERS)
        response.raise_for_status()


def _system_servers() -> ModuleType:
    """tests/system_servers.py: Redis and nginx started as the topology tests start them."""
    for binary, package in (("redis-server", "redis-server"), ("nginx", "nginx")):
        if shutil.which(binary) is None:
            raise RuntimeError(f"the two-replica ramp needs {binary}: apt-get install {package}")
    tests = str(processes.ROOT / "tests")
    if tests not in sys.path:
        sys.path.append(tests)
    import system_servers

    return system_servers


@contextmanager
def _replicas(
    env: dict[str, str], directory: Path, in_flight: int, simulator: dict[str, int]
) -> Iterator[Setup]:
    servers = _system_servers()
    for name in ("redis", "nginx"):
        (directory / name).mkdir()
    with ExitStack() as stack:
        redis = stack.enter_context(servers.redis_server(directory / "redis"))
        shared = {**env, "CHUTES_MCP_REDIS_URL": redis.url, "CHUTES_MCP_REDIS_KEY_SECRET": KEY_SECRET}
        replicas = [stack.enter_context(processes.server_http(shared)) for _ in range(2)]
        upstreams = [httpx2.URL(replica.url).netloc.decode() for replica in replicas]
        # Each call holds a client connection and a replica connection at nginx: room for both.
        balancer = stack.enter_context(
            servers.load_balancer(
                directory / "nginx", upstreams, worker_connections=4 * in_flight, keepalive=in_flight
            )
        )
        helpers = {**simulator, "redis": redis.process.pid, "nginx": balancer.pid}
        yield Setup(
            "two replicas", f"{balancer.url}/mcp", "mcp", tuple(r.pid for r in replicas), helpers, MCP_HEADERS
        )


@contextmanager
def _single(env: dict[str, str], simulator: dict[str, int]) -> Iterator[Setup]:
    with processes.server_http(env) as server:
        yield Setup("single process", server.url, "mcp", (server.pid,), simulator, MCP_HEADERS)


def _floor(sim_url: str, simulator: dict[str, int]) -> Setup:
    url, auth = f"{sim_url}/v1/chat/completions", {"Authorization": f"Bearer {demo_api_key()}"}
    return Setup("simulator alone", url, "chutes", (), simulator, auth)


async def run(sim: processes.Spawned, *, quick: bool) -> Section:
    section = Section(SECTION)
    levels, window_s = (QUICK_LEVELS, QUICK_WINDOW_S) if quick else (LEVELS, WINDOW_S)
    sim_url, simulator = sim.url, {"simulator": sim.pid}
    await pace(sim_url, ttft_ms=TTFT_MS, tokens_per_s=TOKENS_PER_S, answer_tokens=ANSWER_TOKENS)
    setups: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="chutes-ramp-") as scratch:
        directory = Path(scratch)
        env = processes.server_env(sim_url, directory)
        with _single(env, simulator) as single:
            await _warm_up(single.url)
            setups[single.name] = await _ramp(single, sim_url, levels, window_s)
        with _replicas(env, directory, max(levels), simulator) as replicas:
            await _warm_up(replicas.url)
            setups[replicas.name] = await _ramp(replicas, sim_url, levels, window_s)
        floor = _floor(sim_url, simulator)
        setups[floor.name] = await _ramp(floor, sim_url, levels[-1:], window_s)
    await pace(sim_url, ttft_ms=0, tokens_per_s=0, answer_tokens=0)
    section.data = {
        "ideal_s": IDEAL_S,
        "pacing": {"ttft_ms": TTFT_MS, "tokens_per_s": TOKENS_PER_S, "answer_tokens": ANSWER_TOKENS},
        "warmup_s": WARMUP_S,
        "window_s": window_s,
        "setups": setups,
    }
    _rows(section, setups)
    return section


def _rows(section: Section, setups: dict[str, list[dict[str, Any]]]) -> None:
    for name in ("single process", "two replicas"):
        top = setups[name][-1]
        level = f"{top['in_flight']:,} in flight"
        section.row(
            f"(f) {name}, {level}: p50 / p95 × ideal",
            f"x{top['p50_x_ideal']} / x{top['p95_x_ideal']}",
            f"≤ x{TARGET_P50_X} p50",
            top["p50_x_ideal"] is not None and top["p50_x_ideal"] <= TARGET_P50_X,
        )
        section.row(f"(f) {name}, {level}: errors", str(top["errors"]), "0", top["errors"] == 0)
        section.row(
            f"(f) {name}, {level}: RSS per call in flight",
            f"{top['rss_kb_per_stream']} KB",
            f"≤ {TARGET_RSS_KB} KB",
            top["rss_kb_per_stream"] <= TARGET_RSS_KB,
        )
        per_1000 = top["new_upstream_connections_per_1000_calls"]
        section.row(
            f"(f) {name}, {level}: new upstream connections per 1,000 calls",
            str(per_1000),
            f"≤ {TARGET_CONNECTIONS_PER_1000}",
            per_1000 is not None and per_1000 <= TARGET_CONNECTIONS_PER_1000,
        )


def level_table(setups: dict[str, list[dict[str, Any]]]) -> str:
    """The README's ramp table: a row per setup and level."""
    lines = [
        "| setup | in flight | completed/s | p50 / p95 (× ideal) | errors | server CPU | RSS per stream "
        "| new upstream conns per 1,000 calls | load generator CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, levels in setups.items():
        for r in levels:
            rss = "" if r["rss_kb_per_stream"] is None else f"{r['rss_kb_per_stream']:.0f} KB"
            cpu = (
                ""
                if not r["server_cpu_share_of_a_core"] and r["rss_kb_per_stream"] is None
                else (f"{r['server_cpu_share_of_a_core'] * 100:.0f}%")
            )
            lines.append(
                f"| {name} | {r['in_flight']:,} | {r['completed_per_s']} | "
                f"{r['p50_s']:.2f} / {r['p95_s']:.2f} s (x{r['p50_x_ideal']:.2f} / x{r['p95_x_ideal']:.2f}) | "
                f"{r['errors']} | {cpu} | {rss} | {r['new_upstream_connections_per_1000_calls']} | "
                f"{r['load_generator_cpu_share_of_a_core'] * 100:.0f}% |"
            )
    return "\n".join(lines)


def draw(setups: dict[str, list[dict[str, Any]]], path: Path = CHART) -> Path:
    """p50 (solid) and p95 (dashed) against calls in flight, per setup, with the single process before
    the capacity work when its results are at hand."""
    import matplotlib

    matplotlib.use("svg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"
    series = dict(setups)
    if BEFORE.exists():
        before = json.loads(BEFORE.read_text())["sections"][SECTION]["data"]["setups"]["single process"]
        series = {"single process, before (main at 3d11f19)": before, **series}
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for index, (name, levels) in enumerate(series.items()):
        xs = [r["in_flight"] for r in levels]
        color = f"C{index}"
        marker = "o" if len(xs) > 1 else "s"
        axes.plot(xs, [r["p50_x_ideal"] for r in levels], marker=marker, color=color, label=f"{name}, p50")
        axes.plot(
            xs,
            [r["p95_x_ideal"] for r in levels],
            marker=marker,
            color=color,
            linestyle="--",
            label=f"{name}, p95",
        )
    axes.axhline(
        TARGET_P50_X, color="grey", linewidth=0.8, linestyle=":", label=f"target: p50 ≤ x{TARGET_P50_X}"
    )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(list(LEVELS), [f"{level:,}" for level in LEVELS])
    axes.set_yticks(Y_TICKS, [f"x{tick:g}" for tick in Y_TICKS])
    axes.minorticks_off()
    axes.set_xlabel("calls in flight")
    axes.set_ylabel(f"latency ÷ ideal ({IDEAL_S:.1f} s)")
    axes.set_title("chat calls relayed at once: TTFT 1 s, 20 tokens/s, 60 tokens")
    axes.legend(fontsize="small")
    axes.grid(True, which="both", linewidth=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
