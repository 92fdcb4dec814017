from __future__ import annotations

import socket
from pathlib import Path

import httpx2
import pytest

from chutes_mcp.chutes.errors import (
    NetworkError,
    redact,
)
from chutes_mcp.chutes.http.error_bodies import error_from_response, error_from_stream_line, parse_error_body

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chutes-live-2026-02-18"
API_KEY = "cpk_" + "a" * 32 + "." + "b" * 32 + "." + "C" * 32


@pytest.mark.parametrize(
    ("status", "body", "code", "retryable"),
    [
        (401, b'{"detail":"Invalid token."}', "auth_invalid", False),
        (401, b'{"detail":"Token expired."}', "auth_invalid", False),
        (
            402,
            b'{"detail":{"message":"Quota exceeded and account balance is $0.0","quota_reset_timestamp":'
            b'"2026-02-19T00:00:00+00:00"}}',
            "quota_exhausted",
            False,
        ),
        (403, b'{"detail":"Token does not have permission for this resource"}', "auth_scope", False),
        (403, b"<html><title>403 Forbidden</title></html>", "upstream_error", False),
        (404, b'{"detail":"model not found: nope/nope"}', "model_not_found", False),
        (404, b'{"detail":"No matching cord found!"}', "bad_request", False),
        (426, b'{"detail":"This chute does not have TEE enabled."}', "tee_required", False),
        (429, b'{"detail":"Infrastructure is at maximum capacity, try again later"}', "rate_limited", True),
        (429, b"<html><center><h1>429 Too Many Requests</h1></center>nginx</html>", "rate_limited", True),
        (
            429,
            b'{"detail":"Free models limit reached for today - maintain >= $10 balance"}',
            "quota_exhausted",
            False,
        ),
        (429, b'{"detail":"Stop spamming this prompt, please..."}', "rate_limited", False),
        (500, b'{"detail":"exhausted all available targets to no avail"}', "upstream_error", True),
        (500, b"", "upstream_error", True),
        (502, b"Bad gateway", "upstream_error", True),
        (503, b'{"detail":"No instances available (yet) for chute_id=\'x\'"}', "model_unavailable", True),
        (504, b"", "timeout", True),
        (400, b'{"detail":"Invalid request JSON: x"}', "bad_request", False),
        (
            422,
            b'{"detail":[{"loc":["body","x"],"msg":"field required","type":"missing"}]}',
            "bad_request",
            False,
        ),
        (400, b'{"error":{"message":"bad param","type":"BadRequestError","code":400}}', "bad_request", False),
    ],
)
def test_status_and_body_map_to_a_stable_code(status: int, body: bytes, code: str, retryable: bool) -> None:
    error = error_from_response(status, body, {}, invocation_id="inv-1")
    assert error.code == code
    assert error.retryable is retryable
    assert error.status == status
    assert error.invocation_id == "inv-1"
    assert error.hint
    assert error.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"detail":"Invalid token."}', "Invalid token."),
        (b'{"detail":{"object":"error","message":"too long","code":400}}', "too long"),
        (b'{"error":{"message":"bad param"}}', "bad param"),
        (b'{"error":"invalid_grant","error_description":"reused"}', "invalid_grant: reused"),
        (
            b"<html><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></html>",
            "429 Too Many Requests",
        ),
        (b"", ""),
        (b"plain words\n here", "plain words here"),
    ],
)
def test_parse_error_body_finds_the_message(body: bytes, message: str) -> None:
    assert parse_error_body(body)[0] == message


def test_live_captures_parse() -> None:
    html_error = error_from_response(
        429, (FIXTURES / "chat_completions_no_auth_429_2026-02-18.html").read_bytes(), {}
    )
    assert html_error.code == "rate_limited"
    assert "429" in html_error.message
    assert "<" not in html_error.message
    json_error = error_from_response(
        401, (FIXTURES / "chat_completions_invalid_token_2026-02-18.json").read_bytes(), {}
    )
    assert json_error.message == "Invalid token."


def test_quota_reset_is_parsed() -> None:
    body = b'{"detail":{"message":"Quota exceeded","quota_reset_timestamp":"2026-02-19T00:00:00+00:00"}}'
    error = error_from_response(402, body, {})
    assert error.to_dict()["quota_reset_at"] == "2026-02-19T00:00:00+00:00"


def test_retry_after_header_is_read() -> None:
    assert error_from_response(429, b"", {"retry-after": "7"}).retry_after_s == 7.0


def test_secrets_never_reach_the_message() -> None:
    body = f'{{"detail":"bad key {API_KEY} and Bearer cak_123.abc"}}'.encode()
    error = error_from_response(401, body, {})
    assert API_KEY not in str(error)
    assert "cak_123" not in str(error)
    assert "[redacted]" in error.message
    assert redact("Authorization: Bearer sometoken") == "Authorization: Bearer [redacted]"


def test_stream_error_line() -> None:
    error = error_from_stream_line(
        {"error": "Unhandled exception during response stream: boom"}, invocation_id="i"
    )
    assert error.code == "upstream_error"
    assert "boom" in error.message
    coded = error_from_stream_line({"error": {"message": "over", "code": 429}}, invocation_id=None)
    assert coded.code == "rate_limited"


def test_an_unresolvable_host_is_named_as_such() -> None:
    """The real chain: httpx2's error, raised from httpcore2's, raised from the resolver's."""
    try:
        try:
            try:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            except OSError as exc:
                raise httpx2.ConnectError(str(exc)) from exc
        except httpx2.ConnectError as exc:
            raise httpx2.ConnectError("summary") from exc
    except httpx2.ConnectError as exc:
        error = NetworkError.from_transport(exc, "calling llm.chutes.ai")
    assert (
        error.message
        == "ConnectError calling llm.chutes.ai: host name not resolved (Name or service not known)"
    )
    assert "DNS" in error.hint
    assert error.retryable is True
