"""Numbers in tool arguments are finite: NaN is said to be no number (not "should be at most 2"), and a
number too large for a double (`1e400`, which JSON parsers read as infinity) is refused, for every
numeric argument and inside the JSON Schemas a call passes on to Chutes; nothing is sent upstream.

The official client cannot send such numbers (it writes them as null), so these are raw JSON-RPC posts
to a spawned HTTP server, in both eras.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest
from http_support import HttpServer, http_server
from sim_process import SimProcess

MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "0"},
}
NAN = "NaN is not a number"
INFINITE = "is infinite"
NOT_FINITE = "not finite"
CASES = [
    ("chat", '{"prompt": "hi", "temperature": NaN}', "temperature", NAN),
    ("chat", '{"prompt": "hi", "temperature": 1e400}', "temperature", INFINITE),
    ("chat", '{"prompt": "hi", "top_p": -1e400}', "top_p", INFINITE),
    ("chat", '{"prompt": "hi", "max_tokens": 8, "max_cost_usd": 1e400}', "max_cost_usd", INFINITE),
    ("chat", '{"prompt": "hi", "timeout_s": Infinity}', "timeout_s", INFINITE),
    ("list_models", '{"max_input_price": 1e400}', "max_input_price", INFINITE),
    ("list_models", '{"max_output_price": NaN}', "max_output_price", NAN),
    ("pick_model", '{"max_output_price": Infinity}', "max_output_price", INFINITE),
    (
        "chat",
        '{"prompt": "hi", "tools": [{"function": {"name": "f", "parameters": '
        '{"type": "object", "properties": {"n": {"type": "number", "maximum": 1e400}}}}}]}',
        "tools.0.function.parameters",
        f"{NOT_FINITE} at properties.n.maximum",
    ),
    (
        "chat",
        '{"prompt": "hi", "response_format": {"type": "json_schema", "json_schema": '
        '{"schema": {"type": "array", "items": [{"minimum": NaN}]}}}}',
        "response_format.json_schema.json_schema.schema",
        f"{NOT_FINITE} at items.0.minimum",
    ),
]


def call_raw(server: HttpServer, era: str, tool: str, arguments: str) -> dict[str, Any]:
    """`tools/call` with the arguments as JSON text, exactly as given; returns the tool's error payload."""
    meta = f', "_meta": {json.dumps(MODERN_META)}' if era == "modern" else ""
    body = (
        f'{{"jsonrpc": "2.0", "id": 7, "method": "tools/call", '
        f'"params": {{"name": "{tool}", "arguments": {arguments}{meta}}}}}'
    )
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if era == "modern":
        headers |= {"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": tool}
    else:
        headers["mcp-protocol-version"] = "2025-11-25"
    response = httpx2.post(server.url, content=body.encode(), headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    text = response.text
    if response.headers["content-type"].startswith("text/event-stream"):
        text = [line for line in text.splitlines() if line.startswith("data:")][-1].removeprefix("data:")
    result = json.loads(text)["result"]
    assert result["isError"] is True, result
    payload: dict[str, Any] = json.loads(result["content"][0]["text"].rsplit("\n", 1)[-1])
    return payload


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_numbers_that_are_not_finite_are_refused_by_name(sim: SimProcess, tmp_path: Path, era: str) -> None:
    with http_server(sim, tmp_path) as server:
        errors = [
            (call_raw(server, era, tool, arguments), field, says) for tool, arguments, field, says in CASES
        ]
    for error, field, says in errors:
        assert error["code"] == "invalid_arguments", error
        assert f"{field}: " in error["message"], error
        assert says in error["message"], error
        assert "less than" not in error["message"]
        assert "greater than" not in error["message"]
    assert "chat" not in sim.stats()["requests"]
