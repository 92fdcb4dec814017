"""How a tool's failure is reported: Chutes errors as they are, bugs without their internals."""

from __future__ import annotations

import json

from mcp.types import TextContent

from chutes_mcp.chutes.errors import RateLimitedError
from chutes_mcp.server.toolkit import _failure


def _payload(exc: Exception) -> dict[str, object]:
    result = _failure("chat", exc)
    assert result.is_error
    block = result.content[0]
    assert isinstance(block, TextContent)
    payload: dict[str, object] = json.loads(block.text.rsplit("\n", 1)[-1])
    assert block.text.startswith(f"{payload['code']}: ")
    return payload


def test_a_chutes_error_keeps_its_code_even_inside_an_exception_group() -> None:
    error = RateLimitedError("busy", status=429, retry_after_s=2.0)
    for raised in (error, ExceptionGroup("task group", [error])):
        payload = _payload(raised)
        assert (payload["code"], payload["status"], payload["retry_after_s"]) == ("rate_limited", 429, 2.0)


def test_a_bug_is_an_internal_error_without_its_message() -> None:
    payload = _payload(KeyError("cpk_secret_detail"))
    assert payload["code"] == "internal_error"
    assert "KeyError" in str(payload["message"])
    assert "cpk_secret_detail" not in json.dumps(payload)
