"""(a) A realistic call end to end: `chat` through MCP over stdio and over HTTP against the same
request made with `ChutesClient.chat_stream` in a process of its own, one simulator behind both.

The simulator answers like a loaded model: the first token after 300 ms, then 50 tokens a second, 200
tokens in all (about 4.3 s). It sends the stream's opening role chunk after its `ttft_ms` and each
token one tick (1/tokens_per_s) after the one before, the first token included, so `ttft_ms` is set
one tick short of 300 ms for the first token to reach the client at 300 ms.

Wall time is what the caller waits: MCP, from `call_tool` until its result is back in the MCP client,
with a progress callback as a host that shows progress has; direct, from the `chat_stream` call until
the stream is read to its end, timed inside the direct client's process. Rounds make one call of each
kind in a rotating order, so drift on the shared machine touches all three alike.
"""

from __future__ import annotations

from benchmarks.measure import mono_ns, ms_between, summarize, turns
from benchmarks.report import Section, p50_p95
from benchmarks.rig import TRANSPORTS, Rig, chat_args, check, pace

TTFT_MS = 300
TOKENS_PER_S = 50
TOKENS = 200
PROMPT = "hi"
RATIO_TARGET = 1.01


async def _ignore_progress(progress: float, total: float | None, message: str | None) -> None:
    return None


async def _mcp_call_ms(rig: Rig, transport: str) -> float:
    started = mono_ns()
    result = check(
        await rig.mcp[transport].call_tool(
            "chat", chat_args(PROMPT, TOKENS), progress_callback=_ignore_progress
        )
    )
    elapsed = ms_between(started, mono_ns())
    tokens = ((result.structured_content or {}).get("usage") or {}).get("completion_tokens")
    if tokens != TOKENS:
        raise RuntimeError(f"expected {TOKENS} tokens through MCP {transport}, got {tokens}")
    return elapsed


async def run(rig: Rig, sim_url: str, rounds: int) -> Section:
    section = Section("a end to end")
    tick_ms = 1000 // TOKENS_PER_S
    await pace(sim_url, ttft_ms=TTFT_MS - tick_ms, tokens_per_s=TOKENS_PER_S, answer_tokens=TOKENS)
    kinds = ["direct", *TRANSPORTS]
    wall: dict[str, list[float]] = {kind: [] for kind in kinds}
    direct_ttft: list[float] = []
    for kind in turns(kinds, rounds):
        if kind == "direct":
            call = await rig.direct.call(PROMPT, TOKENS)
            if call.tokens != TOKENS:
                raise RuntimeError(f"expected {TOKENS} tokens direct, got {call.tokens}")
            wall[kind].append(ms_between(call.start_ns, call.end_ns))
            direct_ttft.append(ms_between(call.start_ns, call.first_token_ns))
        else:
            wall[kind].append(await _mcp_call_ms(rig, kind))
    summaries = {kind: summarize(values) for kind, values in wall.items()}
    direct = summaries["direct"]
    ttft = summarize(direct_ttft)
    section.data = {
        "simulator": {"ttft_ms": TTFT_MS, "tokens_per_s": TOKENS_PER_S, "tokens": TOKENS},
        "wall_ms": {kind: s.as_dict() for kind, s in summaries.items()},
        "direct_first_token_ms": ttft.as_dict(),
        "samples_ms": {kind: [round(value, 3) for value in values] for kind, values in wall.items()},
    }
    section.row(
        f"(a) chat, TTFT {TTFT_MS} ms + {TOKENS} tokens at {TOKENS_PER_S}/s, direct `chat_stream`: wall p50 / p95",
        p50_p95(direct),
    )
    for transport in TRANSPORTS:
        mcp = summaries[transport]
        ratio = mcp.p50 / direct.p50
        section.data[f"ratio_{transport}"] = round(ratio, 4)
        section.row(
            f"(a) the same via MCP {transport}: wall p50 / p95; ÷ direct p50",
            f"{p50_p95(mcp)}; x{ratio:.3f}",
            f"≤ x{RATIO_TARGET:.2f}",
            ratio <= RATIO_TARGET,
        )
    return section
