"""(c) CPU time per short `chat` call: the server process (stdio, HTTP) against the direct client's.

Server: user + system time of the whole server process (its kernel CPU clock: every thread, to the
nanosecond) across a block of calls made one after another over one MCP connection, divided by the
calls; read again 50 ms after the last answer, so work the server does once it has answered still
counts. Direct: `process_time()` of the process that runs only `ChutesClient.chat_stream`, around the
same number of the same requests. The MCP client's own CPU (in this process) counts for neither side.

The simulator answers at once (no pacing) with 16 tokens, so the calls are back to back and the idle
time between them costs next to nothing. Each round runs one block of each kind, in a rotating order.
CPU time per call swells when other work crowds the 2 cores (caches, contention), and that changes
from minute to minute; so the ratio is taken within each round, where the blocks ran seconds apart,
and the figure is the median of those ratios, with their range. The µs figures are medians over
rounds.
"""

from __future__ import annotations

import anyio

from benchmarks.measure import summarize, turns
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


async def run(rig: Rig, sim_url: str, rounds: int, block_calls: int) -> Section:
    section = Section("c cpu")
    await pace(sim_url, ttft_ms=0, tokens_per_s=0, answer_tokens=0)
    kinds = ["direct", *TRANSPORTS]
    per_call_us: dict[str, list[float]] = {kind: [] for kind in kinds}
    for kind in turns(kinds, rounds):
        if kind == "direct":
            spent = (await rig.direct.batch([PROMPT] * block_calls, TOKENS)).cpu_s
        else:
            spent = await _server_block_s(rig, kind, block_calls)
        per_call_us[kind].append(spent / block_calls * 1e6)
    direct = summarize(per_call_us["direct"])
    section.data = {
        "tokens": TOKENS,
        "rounds": rounds,
        "calls_per_block": block_calls,
        "cpu_us_per_call": {kind: summarize(values).as_dict() for kind, values in per_call_us.items()},
        "samples_us": {kind: [round(v, 1) for v in values] for kind, values in per_call_us.items()},
    }
    section.row(
        "(c) CPU per short chat, direct client process: median µs (range over rounds)",
        f"{direct.p50:,.0f} µs ({direct.min:,.0f}–{direct.max:,.0f})",
    )
    for transport in TRANSPORTS:
        server = summarize(per_call_us[transport])
        ratios = summarize(
            [
                ours / theirs
                for ours, theirs in zip(per_call_us[transport], per_call_us["direct"], strict=True)
            ]
        )
        section.data[f"ratio_{transport}"] = ratios.as_dict()
        section.row(
            f"(c) CPU per short chat, server over {transport}: median µs; ÷ direct, median of rounds (range)",
            f"{server.p50:,.0f} µs; x{ratios.p50:.2f} (x{ratios.min:.2f}–x{ratios.max:.2f})",
            f"≤ x{RATIO_TARGET:g}",
            ratios.p50 <= RATIO_TARGET,
        )
    return section
