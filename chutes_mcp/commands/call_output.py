"""How `chutes-mcp call` shows a result to a person at a terminal (piped, it prints the JSON unchanged).

The shape follows tools like `gh`: the answer or the table on stdout, and what is said about it (model,
tokens, cost, time, the next page, notes) in a dim line after it on stderr.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from chutes_mcp.commands.terminal import dim, table

PREVIEW_VECTORS = 3
PREVIEW_VALUES = 4


def _cell(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _note(text: str) -> None:
    sys.stderr.write(dim(text, sys.stderr) + "\n")


def _cost(usd: float | None) -> str:
    return "cost unknown" if usd is None else f"${usd:.6f}"


def _tokens(usage: dict[str, Any] | None) -> str:
    if not usage:
        return "tokens unknown"
    return f"{usage['prompt_tokens']:,} in / {usage['completion_tokens']:,} out tokens"


def chat_footer(result: dict[str, Any], streamed: str, out: TextIO) -> None:
    """After the streamed answer: what was not streamed (tool calls), then one line about the call."""
    if not streamed and result["text"]:
        out.write(result["text"])
        streamed = result["text"]
    if streamed and not streamed.endswith("\n"):
        out.write("\n")
    for call in result["tool_calls"]:
        out.write(f"tool call {call['name']}({call['arguments']})  id {call['id']}\n")
    out.flush()
    parts = [result["model_used"], _tokens(result["usage"]), _cost(result["cost_usd"])]
    parts.append(f"{result['latency_ms'] / 1000:.2f} s")
    failed = len(result["attempts"]) - 1
    if failed > 0:
        tried = ", ".join(f"{a['model']} {a['outcome']}" for a in result["attempts"][:-1])
        parts.append(f"after {tried}")
    _note("— " + " · ".join(parts))
    for note in result["notes"]:
        _note(f"  note: {note}")


def _next_page_command(command: Sequence[str], arguments: dict[str, Any], cursor: str) -> str:
    """`command` is `chutes-mcp call TOOL` and its options; the arguments go right after TOOL (argparse
    takes no positional argument after an option there)."""
    again = {key: value for key, value in arguments.items() if key != "cursor"}
    again["cursor"] = cursor
    return shlex.join([*command[:3], json.dumps(again), *command[3:]])


_HEADERS = {
    "context_length": "CONTEXT",
    "max_output_tokens": "MAX OUT",
    "input_price": "$IN/1M",
    "output_price": "$OUT/1M",
    "cache_read_price": "$CACHED/1M",
    "input_modalities": "INPUT",
    "output_modalities": "OUTPUT",
}


def _when(fetched_at: str, stale: bool) -> str:
    """`2026-02-18T10:00:00Z` as `2026-02-18 10:00 UTC`, and whether that copy is stale."""
    shown = fetched_at[:16].replace("T", " ") + " UTC" if "T" in fetched_at else fetched_at
    return shown + (" (stale)" if stale else "")


def list_models(
    result: dict[str, Any], arguments: dict[str, Any], command: Sequence[str], out: TextIO
) -> None:
    fields = result["fields"]
    header = [_HEADERS.get(field, field.upper().replace("_", " ")) for field in fields]
    rows = [[_cell(row.get(field)) for field in fields] for row in result["models"]]
    if rows:
        out.write(table(header, rows, out))
    else:
        out.write("no model matches")
        out.write(f"; closest: {', '.join(result['suggestions'])}\n" if result["suggestions"] else "\n")
    first = result["offset"] + 1
    shown = f"models {first}-{result['offset'] + len(rows)} of {result['total']}" if rows else "0 models"
    when = _when(result["fetched_at"], result["stale"])
    _note(f"— {shown} · by {result['sort']} · catalog {result['source']}, fetched {when}")
    if result["next_cursor"]:
        _note("  next page: " + _next_page_command(command, arguments, result["next_cursor"]))


def pick_model(
    result: dict[str, Any], arguments: dict[str, Any], command: Sequence[str], out: TextIO
) -> None:
    out.write(f"task {result['task']}: {result['summary']}\n")
    if not result["picks"]:
        rejected = ", ".join(f"{reason} {count}" for reason, count in result["rejected"].items())
        out.write(f"no model meets the constraints (left out: {rejected})\n")
    else:
        header = ["#", "MODEL", "SCORE", "TEE", "CONTEXT", "$IN/1M", "$OUT/1M"]
        rows = [
            [
                str(pick["rank"]),
                pick["id"],
                f"{pick['score']:.3f}",
                _cell(pick["tee"]),
                _cell(pick["context_length"]),
                _cell(pick["prices"]["prompt"]),
                _cell(pick["prices"]["completion"]),
            ]
            for pick in result["picks"]
        ]
        out.write(table(header, rows, out))
        for pick in result["picks"]:
            out.write(f"{pick['rank']}. {'; '.join(pick['reasons'])}\n")
        out.write(f"routing: {result['routing']}\n")
    when = _when(result["fetched_at"], result["stale"])
    _note(
        f"— {result['eligible']} of {result['considered']} models eligible · catalog {result['source']}, "
        f"fetched {when}"
    )


def embed(result: dict[str, Any], output_file: str | None, out: TextIO) -> None:
    noun = "vector" if result["count"] == 1 else "vectors"
    tee = "TEE" if result["tee"] else "not TEE"
    out.write(f"{result['count']} {noun} · {result['model']} ({tee}) · {result['dimensions']:,} dimensions\n")
    for number, vector in enumerate(result["vectors"][:PREVIEW_VECTORS], start=1):
        values = ", ".join(f"{value:.4f}" for value in vector[:PREVIEW_VALUES])
        out.write(f"#{number} [{values}, …]\n")
    if result["count"] > PREVIEW_VECTORS:
        out.write(f"… and {result['count'] - PREVIEW_VECTORS} more\n")
    tokens = "tokens unknown" if result["usage"] is None else f"{result['usage']['prompt_tokens']:,} tokens"
    where = f"vectors written to {output_file}" if output_file else "--output FILE writes the vectors (JSON)"
    _note(f"— {tokens} · {_cost(result['cost_usd'])} · {result['batches']} request(s) · {where}")


Renderer = Callable[[dict[str, Any], dict[str, Any], Sequence[str], TextIO], None]
TABLES: dict[str, Renderer] = {"list_models": list_models, "pick_model": pick_model}
