"""(c) CPU time per short `chat` call: the server process (stdio, HTTP) against the direct client's.

Server: user + system time of the whole server process (/proc/<pid>/stat, every thread) across a block
of calls made one after another over one MCP connection, divided by the calls; read again 50 ms after
the last answer, so work the server does once it has answered still counts. Direct: `process_time()`
of the process that runs only `ChutesClient.chat_stream`, around the same number of the same requests.
The MCP client's own CPU (in this process) counts for neither side.

The simulator answers at once (no pacing) with 16 tokens, so the calls are back to back and the idle
time between them costs next to nothing. Blocks of each kind take turns in a rotating order; the
figure is the median over blocks, with the spread of the blocks beside it. The kernel counts process
CPU in 10 ms ticks, so a block is sized to take a second or more of server CPU.
"""

from __future__ import annotations

import anyio

from benchmarks.measure import Summary, summarize, turns
from benchmarks.processes import cpu_s
from benchmarks.report import Section
from benchmarks.rig import TRANSPORTS, Rig, chat_args, check, pace

TOKENS = 16
PROMPT = "hi"
RATIO_TARGET = 1.5
_SETTLE_S = 0.05


async def _server_block_s(rig: Rig, transport: str, calls: int) -> float:
    pid, client = rig.pids[transport], rig.mcp[transport]
    arguments = chat_args(PROMPT, TOKENS)
    before = cpu_s(pid)
    for _ in range(calls):
        check(await client.call_tool("chat", arguments))
    await anyio.sleep(_SETTLE_S)
    return cpu_s(pid) - before


async def run(rig: Rig, sim_url: str, blocks: int, block_calls: int) -> Section:
    section = Section("c cpu")
    await pace(sim_url, ttft_ms=0, tokens_per_s=0, answer_tokens=0)
    kinds = ["direct", *TRANSPORTS]
    per_call_us: dict[str, list[float]] = {kind: [] for kind in kinds}
    for kind in turns(kinds, blocks):
        if kind == "direct":
            spent = (await rig.direct.batch([PROMPT] * block_calls, TOKENS)).cpu_s
        else:
            spent = await _server_block_s(rig, kind, block_calls)
        per_call_us[kind].append(spent / block_calls * 1e6)
    summaries = {kind: summarize(values) for kind, values in per_call_us.items()}
    direct = summaries["direct"]
    section.data = {
        "tokens": TOKENS,
        "blocks": blocks,
        "calls_per_block": block_calls,
        "cpu_us_per_call": {kind: s.as_dict() for kind, s in summaries.items()},
        "samples_us": {kind: [round(v, 1) for v in values] for kind, values in per_call_us.items()},
    }
    section.row("(c) CPU per short chat, direct client process: median (range over blocks)", _us(direct))
    for transport in TRANSPORTS:
        server = summaries[transport]
        ratio = server.p50 / direct.p50
        section.data[f"ratio_{transport}"] = round(ratio, 4)
        section.row(
            f"(c) CPU per short chat, server over {transport}: median (range); ÷ direct",
            f"{_us(server)}; x{ratio:.2f}",
            f"≤ x{RATIO_TARGET:g}",
            ratio <= RATIO_TARGET,
        )
    return section


def _us(summary: Summary) -> str:
    return f"{summary.p50:,.0f} µs ({summary.min:,.0f}–{summary.max:,.0f})"
