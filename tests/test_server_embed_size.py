"""Results that fit: no answer of a real `chutes-mcp serve` is larger than an MCP host accepts.

Every TypeScript-SDK host drops its stdio connection on a message over 10 MiB, and every later call on
it fails too. `embed` accepts 1024 texts, and at 4096 dimensions their vectors are ~22 MB even as base64:
the call must come back as the typed `result_too_large` error, small, and the connection must serve the
next call.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp_support import ERAS, error_of, mcp_session, server_env, text_of
from sim_process import SimProcess
from test_server_stdout import RawServer, assert_only_jsonrpc, initialize_legacy

from chutes_mcp.server.result_size import MAX_RESULT_BYTES
from chutes_mcp.server.tools.embed import MAX_INPUTS, inputs_that_fit

pytestmark = pytest.mark.anyio

Era = Literal["auto", "legacy"]
HOST_LIMIT_BYTES = 10 * 1024 * 1024
DIMENSIONS = 4096  # the default model, Qwen3-Embedding-8B
FIT = inputs_that_fit(DIMENSIONS, "base64")  # 383


def _texts(count: int) -> list[str]:
    return [f"passage {index} about topic {index % 7}" for index in range(count)]


def _embedding_requests(sim: SimProcess) -> int:
    embeddings: dict[str, Any] = sim.stats()["requests"].get("embeddings", {})
    return int(embeddings.get("total", 0))


@pytest.mark.parametrize("mode", ERAS)
async def test_too_many_vectors_is_a_typed_error_and_the_connection_lives(
    sim: SimProcess, tmp_path: Path, mode: Era
) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:
        refused = await client.call_tool("embed", {"input": _texts(MAX_INPUTS)})
        asked_floats = await client.call_tool("embed", {"input": _texts(100), "encoding_format": "float"})
        requests_before_any_fit = _embedding_requests(sim)
        fitting = await client.call_tool("embed", {"input": _texts(FIT)})
        small = await client.call_tool("embed", {"input": "passage 5 about topic 5"})
    too_large = error_of(refused)
    assert too_large["code"] == "result_too_large"
    assert (too_large["max_inputs"], too_large["dimensions"], too_large["encoding"]) == (FIT, 4096, "base64")
    assert f"3 calls of at most {FIT}" in too_large["hint"]
    assert too_large["limit_bytes"] == MAX_RESULT_BYTES
    assert too_large["retryable"] is False
    floats = error_of(asked_floats)
    assert floats["code"] == "result_too_large"
    assert f'encoding_format "base64" ({FIT} fit)' in floats["hint"]
    # Refused before anything was sent: nothing was billed.
    assert requests_before_any_fit == 0
    assert not fitting.is_error, text_of(fitting)
    content = fitting.structured_content or {}
    assert (content["count"], content["encoding"], content["dimensions"]) == (FIT, "base64", 4096)
    assert "as base64" in text_of(fitting)
    assert not small.is_error, text_of(small)
    one = small.structured_content or {}
    assert one["encoding"] == "float"
    # base64 is the float32 the float form prints: decoded the OpenAI way, the numbers are the same.
    assert list(struct.unpack("<4096f", base64.b64decode(content["vectors"][5]))) == one["vectors"][0]


def test_no_stdio_line_reaches_the_hosts_limit(sim: SimProcess, tmp_path: Path) -> None:
    """Read raw off the pipe: the refused call, the largest call that fits, and the one after."""
    server = RawServer(server_env(sim, tmp_path))
    try:
        initialize_legacy(server)
        refused = server.request("tools/call", {"name": "embed", "arguments": {"input": _texts(MAX_INPUTS)}})
        largest = server.request("tools/call", {"name": "embed", "arguments": {"input": _texts(FIT)}})
        after = server.request("tools/call", {"name": "embed", "arguments": {"input": "one more"}})
    finally:
        code = server.close()
    assert code == 0, server.stderr.decode(errors="replace")
    assert refused["result"]["isError"] is True
    assert "result_too_large" in refused["result"]["content"][0]["text"]
    assert largest["result"]["isError"] is False
    assert largest["result"]["structuredContent"]["count"] == FIT
    assert after["result"]["isError"] is False
    assert_only_jsonrpc(server.stdout, server.requests)
    sizes = sorted(len(line) for line in server.stdout_chunks)
    # The largest answer is most of the bound, and every line, envelope included, is far from 10 MiB.
    assert MAX_RESULT_BYTES * 0.9 < sizes[-1] <= MAX_RESULT_BYTES + 4096 < HOST_LIMIT_BYTES
