"""The bound on one tool result, and the embed tool's arithmetic of how many vectors fit under it."""

from __future__ import annotations

import base64
import json

import pytest
from mcp.types import CallToolResult, TextContent

from chutes_mcp.chutes.types import Usage
from chutes_mcp.server.result_size import (
    MAX_RESULT_BYTES,
    MIB,
    ResultTooLargeError,
    bounded,
    serialized_size,
)
from chutes_mcp.server.tools.embed import (
    AUTO_FLOAT_MAX_VALUES,
    NO_PRICE,
    EmbedOutput,
    check_fits,
    choose_encoding,
    inputs_that_fit,
    vector_bytes,
)

# What the TypeScript SDK's stdio transport holds at most before it drops the connection.
HOST_LIMIT_BYTES = 10 * MIB


def _text_result(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)])


def _payload(result: CallToolResult) -> dict[str, object]:
    block = result.content[0]
    assert isinstance(block, TextContent)
    payload: dict[str, object] = json.loads(block.text.rsplit("\n", 1)[-1])
    return payload


def test_the_bound_leaves_room_below_the_hosts_limit() -> None:
    assert MAX_RESULT_BYTES == 8 * MIB
    assert HOST_LIMIT_BYTES - MAX_RESULT_BYTES >= 2 * MIB


@pytest.mark.parametrize(
    ("character", "bytes_each"),
    [("a", 1), ("\n", 2), ('"', 2), ("é", 2), ("\x01", 6), ("😀", 4)],
)
@pytest.mark.parametrize("over", [0, 1])
def test_bound_on_the_serialized_bytes(character: str, bytes_each: int, over: int) -> None:
    """Measured as the wire carries it: UTF-8, JSON escapes included; exactly at the bound passes."""
    envelope = serialized_size(_text_result(""))
    count = (MAX_RESULT_BYTES - envelope) // bytes_each
    padding = "a" * (MAX_RESULT_BYTES - envelope - count * bytes_each + over)
    result = _text_result(character * count + padding)
    assert serialized_size(result) == MAX_RESULT_BYTES + over
    answer = bounded("chat", result)
    if not over:
        assert answer is result
        return
    assert answer.is_error
    payload = _payload(answer)
    assert payload["code"] == "result_too_large"
    assert (payload["size_bytes"], payload["limit_bytes"]) == (MAX_RESULT_BYTES + 1, MAX_RESULT_BYTES)
    assert "chat" in str(payload["message"])
    assert serialized_size(answer) < 2048


@pytest.mark.parametrize(
    ("dimensions", "encoding", "per_vector", "fit"),
    [
        (4096, "base64", 21851, 383),
        (4096, "float", 102403, 81),
        (2560, "base64", 13659, 612),
        (1024, "base64", 5467, 1531),
        (1024, "float", 25603, 327),
        (384, "base64", 2051, 4082),
        (1, "base64", 11, 761_111),
    ],
)
def test_how_many_vectors_fit(dimensions: int, encoding: str, per_vector: int, fit: int) -> None:
    assert encoding in ("float", "base64")
    kind = "float" if encoding == "float" else "base64"
    assert vector_bytes(dimensions, kind) == per_vector
    assert inputs_that_fit(dimensions, kind) == fit


def _worst_case_result(count: int, dimensions: int, encoding: str) -> CallToolResult:
    """A full embed result with the longest values either form can hold, and every other field large."""
    if encoding == "float":
        vectors: list[list[float]] | list[str] = [[-0.000012345678901234568] * dimensions] * count
    else:
        vectors = [base64.b64encode(b"\xff" * 4 * dimensions).decode()] * count
    output = EmbedOutput(
        model="some-org/" + "x" * 280,
        tee=None,
        count=count,
        dimensions=dimensions,
        encoding="float" if encoding == "float" else "base64",
        vectors=vectors,
        batches=32,
        usage=Usage(prompt_tokens=10**9, total_tokens=10**9),
        cost_usd=None,
        cost_note=NO_PRICE,
        invocation_ids=["0" * 36] * 32,
    )
    return CallToolResult(
        content=[TextContent(type="text", text="s" * 1000)],
        structured_content=output.model_dump(mode="json", by_alias=True),
    )


@pytest.mark.parametrize(("dimensions", "encoding"), [(4096, "base64"), (4096, "float"), (1024, "float")])
def test_what_fits_is_honest(dimensions: int, encoding: str) -> None:
    """As many vectors as the arithmetic allows, at their longest, stay under the bound."""
    kind = "float" if encoding == "float" else "base64"
    fit = inputs_that_fit(dimensions, kind)
    assert serialized_size(_worst_case_result(fit, dimensions, encoding)) <= MAX_RESULT_BYTES
    if encoding == "base64":  # exact: one more is past the bound
        assert serialized_size(_worst_case_result(fit + 8, dimensions, encoding)) > MAX_RESULT_BYTES


@pytest.mark.parametrize(
    ("requested", "count", "dimensions", "chosen"),
    [
        ("auto", 16, 4096, "float"),
        ("auto", 17, 4096, "base64"),
        ("auto", 64, 1024, "float"),
        ("auto", 65, 1024, "base64"),
        ("auto", 1, AUTO_FLOAT_MAX_VALUES + 1, "base64"),
        ("float", 1000, 4096, "float"),
        ("base64", 1, 8, "base64"),
    ],
)
def test_auto_encoding(requested: str, count: int, dimensions: int, chosen: str) -> None:
    assert requested in ("auto", "float", "base64")
    kind = "auto" if requested == "auto" else "float" if requested == "float" else "base64"
    assert choose_encoding(kind, count, dimensions) == chosen


def test_check_fits_says_how_to_split() -> None:
    check_fits(383, 4096, "base64", sent=False)
    with pytest.raises(ResultTooLargeError) as refused:
        check_fits(1024, 4096, "base64", sent=False)
    assert refused.value.details == {"max_inputs": 383, "dimensions": 4096, "encoding": "base64"}
    assert "3 calls of at most 383" in refused.value.hint
    assert "dimensions=1024 if the model allows it (1531 fit)" in refused.value.hint
    with pytest.raises(ResultTooLargeError) as in_floats:
        check_fits(100, 4096, "float", sent=True)
    assert 'encoding_format "base64" (383 fit)' in in_floats.value.hint
    assert "first batch was embedded" in in_floats.value.message
