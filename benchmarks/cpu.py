"""(c) CPU time per `chat` call: the server process (stdio, HTTP) against the direct client's.

Server: user + system time of the whole server process (its kernel CPU clock: every thread, to the
nanosecond) across a block of calls made one after another over one MCP connection, divided by the
calls; read again 50 ms after the last answer, so work the server does once it has answered still
counts. Direct: `process_time()` of the process that runs only `ChutesClient.chat_stream`, around the
same number of the same requests. The MCP client's own CPU (in this process) counts for neither side.

Two answer lengths: a short one (16 tokens), where the fixed cost of an MCP call weighs most, and the
200 tokens of the realistic call of (a). The simulator answers at once (no pacing), so the calls are
back to back and the idle time between them costs next to nothing.

What no MCP server can go below is measured too: the SDK's own cost of one tool call over stdio, as the
reference server `mcp-server-time` pays it for `get_current_time` (a no-op next to a chat), and ours for
`get_model` (a tool that never calls upstream). The server's CPU per chat is that floor, plus the
direct client's work, plus what the chat tool itself adds.

CPU time per call swells when other work crowds the 2 cores (caches, contention), and that changes
from minute to minute; so each round runs one block of each kind, in a rotating order, ratios are
taken within each round, and the figure is the median of those ratios, with their range. The µs
figures are medians over rounds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from mcp import Client, StdioServerParameters

from benchmarks.measure import summarize, turns
from benchmarks.processes import cpu_s, stdio_server_pids
from benchmarks.report import Section
from benchmarks.rig import TRANSPORTS, Rig, chat_args, check, pace

SHORT_TOKENS = 16
LONG_TOKENS = 200
PROMPT = "hi"
RATIO_TARGET = 1.5
_SETTLE_S = 0.05
REFERENCE = [sys.executable, "-m", "mcp_server_time", "--local-timezone", "UTC"]


@asynccontextmanager
async def _reference_server() -> AsyncIterator[tuple[Client, int]]:
    params = StdioServerParameters(
        command=REFERENCE[0], args=REFERENCE[1:], env={"PATH": os.environ.get("PATH", "")}
    )
    earlier = stdio_server_pids(REFERENCE)
    async with Client(params) as client:
        (pid,) = stdio_server_pids(REFERENCE) - earlier
        yield client, pid


async def _block_s(client: Client, pid: int, tool: str, arguments: dict[str, object], calls: int) -> float:
    before = cpu_s(pid)
    for _ in range(calls):
        check(await client.call_tool(tool, arguments))
    await anyio.sleep(_SETTLE_S)
    return cpu_s(pid) - before


async def run(rig: Rig, sim_url: str, rounds: int, block_calls: int) -> Section:
    section = Section("c cpu")
    # Answers as long as the longer budget: the shorter one is cut at its max_tokens.
    await pace(sim_url, ttft_ms=0, tokens_per_s=0, answer_tokens=LONG_TOKENS)
    chats = [f"{kind}-{tokens}" for tokens in (SHORT_TOKENS, LONG_TOKENS) for kind in ("direct", *TRANSPORTS)]
    floors = ["sdk-noop", "ours-noop"]
    kinds = [*chats, *floors]
    per_call_us: dict[str, list[float]] = {kind: [] for kind in kinds}
    async with _reference_server() as (reference, reference_pid):
        check(await reference.call_tool("get_current_time", {"timezone": "UTC"}))
        for kind in turns(kinds, rounds):
            if kind == "sdk-noop":
                spent = await _block_s(
                    reference, reference_pid, "get_current_time", {"timezone": "UTC"}, block_calls
                )
            elif kind == "ours-noop":
                spent = await _block_s(
                    rig.mcp["stdio"], rig.pids["stdio"], "get_model", {"model": "glm-4.7"}, block_calls
                )
            else:
                path, tokens = kind.rsplit("-", 1)
                if path == "direct":
                    spent = (await rig.direct.batch([PROMPT] * block_calls, int(tokens))).cpu_s
                else:
                    arguments = chat_args(PROMPT, int(tokens))
                    spent = await _block_s(rig.mcp[path], rig.pids[path], "chat", arguments, block_calls)
            per_call_us[kind].append(spent / block_calls * 1e6)
    section.data = {
        "tokens": [SHORT_TOKENS, LONG_TOKENS],
        "rounds": rounds,
        "calls_per_block": block_calls,
        "cpu_us_per_call": {kind: summarize(values).as_dict() for kind, values in per_call_us.items()},
        "samples_us": {kind: [round(v, 1) for v in values] for kind, values in per_call_us.items()},
    }
    sdk, ours = summarize(per_call_us["sdk-noop"]), summarize(per_call_us["ours-noop"])
    section.row(
        "(c) CPU of one tool call that calls nothing upstream, over stdio: mcp-server-time "
        "`get_current_time` (the SDK's floor) / ours `get_model`",
        f"{sdk.p50:,.0f} µs / {ours.p50:,.0f} µs",
    )
    for length in (SHORT_TOKENS, LONG_TOKENS):
        direct = summarize(per_call_us[f"direct-{length}"])
        section.row(
            f"(c) CPU per {length}-token chat, direct client process: median µs (range over rounds)",
            f"{direct.p50:,.0f} µs ({direct.min:,.0f}–{direct.max:,.0f})",
        )
        for transport in TRANSPORTS:
            server = summarize(per_call_us[f"{transport}-{length}"])
            ratios = summarize(
                [
                    mine / theirs
                    for mine, theirs in zip(
                        per_call_us[f"{transport}-{length}"], per_call_us[f"direct-{length}"], strict=True
                    )
                ]
            )
            section.data[f"ratio_{transport}_{length}"] = ratios.as_dict()
            section.row(
                f"(c) CPU per {length}-token chat, server over {transport}: median µs; ÷ direct, "
                "median of rounds (range)",
                f"{server.p50:,.0f} µs; x{ratios.p50:.2f} (x{ratios.min:.2f}–x{ratios.max:.2f})",
                f"≤ x{RATIO_TARGET:g}",
                ratios.p50 <= RATIO_TARGET,
            )
    return section
