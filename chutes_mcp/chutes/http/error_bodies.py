"""The typed error behind a failed response from any Chutes host, or behind an error line in a stream.

Chutes, its nginx edge and the proxies in between answer errors in many shapes: FastAPI `detail`
strings, objects and lists, OpenAI-style `error` objects, RFC 6749 token errors, and HTML pages.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from chutes_mcp.chutes.errors import (
    PROXY_AUTH_HINT,
    AuthInvalidError,
    AuthScopeError,
    BadRequestError,
    ChutesError,
    ChutesTimeoutError,
    ModelNotFoundError,
    ModelUnavailableError,
    NetworkError,
    QuotaExhaustedError,
    RateLimitedError,
    TeeRequiredError,
    UpstreamError,
)


def _message_from_json(body: Any) -> tuple[str, Mapping[str, Any] | None]:
    """Return the human message and, when the detail is an object, that object."""
    if isinstance(body, Mapping):
        detail = body.get("detail")
        if isinstance(detail, str):
            return detail, None
        if isinstance(detail, Mapping):
            message = detail.get("message") or detail.get("detail") or json.dumps(detail)
            return str(message), detail
        if isinstance(detail, list):  # FastAPI 422 validation errors
            parts = [
                str(item.get("msg", item)) if isinstance(item, Mapping) else str(item) for item in detail
            ]
            return "; ".join(parts), None
        error = body.get("error")
        if isinstance(error, Mapping):  # OpenAI style
            return str(error.get("message") or json.dumps(error)), error
        if isinstance(error, str):  # RFC 6749 token errors and Chutes' mid-stream line
            description = body.get("error_description")
            return (f"{error}: {description}" if description else error), None
        message = body.get("message")
        if isinstance(message, str):
            return message, None
    return json.dumps(body), None


_TAG_PATTERN = r"<[^>]+>"
_TITLE_PATTERN = r"(?is)<(?:title|h1)[^>]*>(.*?)</(?:title|h1)>"


def _message_from_text(text: str) -> str:
    if "<" in text and ">" in text:
        found = re.search(_TITLE_PATTERN, text)
        inner = found.group(1) if found else re.sub(_TAG_PATTERN, " ", text)
        return " ".join(html.unescape(re.sub(_TAG_PATTERN, " ", inner)).split())
    return " ".join(text.split())


def parse_error_body(body: bytes) -> tuple[str, Mapping[str, Any] | None, bool]:
    """Extract (message, detail object, was_html) from any error body Chutes or its edge may send."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return "", None, False
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        is_html = text.lstrip().startswith("<")
        return _message_from_text(text), None, is_html
    message, detail = _message_from_json(parsed)
    return message, detail, False


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - datetime.now(when.tzinfo).timestamp())


def _parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    invocation_id: str | None = None,
) -> ChutesError:
    """Map an HTTP error response from any Chutes host to the typed error an agent can act on."""
    message, detail, is_html = parse_error_body(body)
    message = message or f"HTTP {status} with an empty body"
    common: dict[str, Any] = {
        "status": status,
        "invocation_id": invocation_id,
        "retry_after_s": _parse_retry_after(headers.get("retry-after")),
    }
    lowered = message.lower()
    if status == 401:
        return AuthInvalidError(message, **common)
    if status == 402:
        reset = _parse_timestamp(detail.get("quota_reset_timestamp")) if detail else None
        return QuotaExhaustedError(message, quota_reset_at=reset, **common)
    if status == 403:
        if is_html:
            return UpstreamError(
                message,
                hint="An edge proxy refused the request; a TLS-intercepting proxy or VPN is the usual cause.",
                **common,
            )
        return AuthScopeError(message, **common)
    if status == 404:
        if "cord" in lowered:
            return BadRequestError(
                message,
                hint="This host does not serve that endpoint for the model (embedding models need the embed host).",
                **common,
            )
        return ModelNotFoundError(message, **common)
    if status == 407:
        # Only a proxy answers 407 (a plain http:// request it forwards): a setup problem, not retried.
        return NetworkError(
            f"the proxy asks for credentials ({message})", retryable=False, hint=PROXY_AUTH_HINT, **common
        )
    if status == 426:
        return TeeRequiredError(message, **common)
    if status == 429:
        if "free models limit" in lowered:
            return QuotaExhaustedError(message, **common)
        if "spamming" in lowered:
            return RateLimitedError(message, retryable=False, **common)
        return RateLimitedError(message, **common)
    if status == 503:
        return ModelUnavailableError(message, **common)
    if status in (408, 504):
        return ChutesTimeoutError(message, **common)
    if status >= 500:
        return UpstreamError(message, retryable=True, **common)
    return BadRequestError(message, **common)


def error_from_stream_line(payload: Mapping[str, Any], *, invocation_id: str | None) -> ChutesError:
    """A terminal `{"error": ...}` object that Chutes writes into a stream after content has started."""
    message, detail = _message_from_json(payload)
    code = detail.get("code") if detail else None
    if isinstance(code, int) and 400 <= code < 600:
        return error_from_response(
            code, json.dumps({"detail": detail}).encode(), {}, invocation_id=invocation_id
        )
    return UpstreamError(message, retryable=False, invocation_id=invocation_id)
