"""One error hierarchy for everything that can go wrong talking to Chutes.

Each error carries a stable `code` an agent can branch on, the HTTP `status` when there was one,
`retryable`, `retry_after_s`, an actionable `hint` and the `invocation_id` Chutes gave. Messages pass
through `redact()` so a credential echoed by a server or a proxy never reaches a log or a user.
"""

from __future__ import annotations

import re
import socket
import ssl
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx2

from chutes_mcp.chutes.http.proxies import ProxyRoute, proxy_for

if TYPE_CHECKING:
    from chutes_mcp.chutes.types import RetryRecord

_MAX_MESSAGE_CHARS = 500

# Chutes API keys, OAuth access/refresh tokens, client secrets, and any bearer credential. This
# module's patterns are compiled on first use, through `re`'s own cache: the server imports the module
# before its first answer, and compiling them then was ~0.9 ms of every start.
_KEY_PATTERN = r"\b(?:cpk|cak|crt|csc)_[A-Za-z0-9._-]+"
_AUTHORIZATION_PATTERN = r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"


def redact(text: str) -> str:
    """Replace anything shaped like a Chutes credential with a placeholder."""
    text = re.sub(_KEY_PATTERN, "[redacted]", text)
    return re.sub(_AUTHORIZATION_PATTERN, r"\1 [redacted]", text)


class ChutesError(Exception):
    """Base of every error raised by the Chutes client."""

    code: ClassVar[str] = "upstream_error"
    default_hint: ClassVar[str] = "Chutes answered with an error; try again later."
    default_retryable: ClassVar[bool] = False
    refused_here: ClassVar[bool] = False
    """Raised by this process's own guards (rate limiter, breaker) without a request sent: retrying
    it at once, or counting it against the model's breaker, would only repeat the refusal."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        hint: str | None = None,
        invocation_id: str | None = None,
        partial_text: str = "",
    ) -> None:
        self.message = redact(message)[:_MAX_MESSAGE_CHARS]
        super().__init__(self.message)
        self.status = status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after_s = retry_after_s
        self.hint = hint or self.default_hint
        self.invocation_id = invocation_id
        # Text a stream produced before it failed, so a caller can still show it.
        self.partial_text = partial_text
        # Failed attempts that were retried before this error became final (set by the retry loop).
        self.retries: tuple[RetryRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "retryable": self.retryable,
            "retry_after_s": self.retry_after_s,
            "hint": self.hint,
            "invocation_id": self.invocation_id,
        }

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status else ""
        return f"{self.code}{status}: {self.message}"


class AuthInvalidError(ChutesError):
    code = "auth_invalid"
    default_hint = (
        "Set CHUTES_API_KEY to a valid key (cpk_…, from chutes.ai > API keys) "
        "or run `chutes-mcp login` to sign in with Chutes."
    )


class AuthScopeError(ChutesError):
    code = "auth_scope"
    default_hint = (
        "The credential lacks a permission: sign in again with the `chutes:invoke` scope "
        "(`chutes-mcp login`) or use an API key with invoke rights."
    )


class QuotaExhaustedError(ChutesError):
    code = "quota_exhausted"
    default_hint = "Add balance or upgrade the subscription at chutes.ai, or wait for the daily quota reset."

    def __init__(self, message: str, *, quota_reset_at: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.quota_reset_at = quota_reset_at

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["quota_reset_at"] = self.quota_reset_at.isoformat() if self.quota_reset_at else None
        return out


class RateLimitedError(ChutesError):
    code = "rate_limited"
    default_hint = (
        "Chutes is throttling requests; wait and retry, lower CHUTES_RATE_LIMIT_RPM, "
        "or use a fallback model. Repeated bursts earn longer bans."
    )
    default_retryable = True


class LimiterRefusedError(RateLimitedError):
    """The credential's own rate limiter could not give the request a turn before its deadline."""

    refused_here = True


class ModelNotFoundError(ChutesError):
    code = "model_not_found"
    default_hint = "Check the model id against the list of models (`chutes-mcp models`)."


class ModelUnavailableError(ChutesError):
    code = "model_unavailable"
    default_hint = (
        "The model has no capacity right now (cold or disabled); retry later or use a fallback model."
    )
    default_retryable = True


class BreakerOpenError(ModelUnavailableError):
    """The model's circuit breaker is open: calls are paused until its cooldown ends."""

    refused_here = True


class TeeRequiredError(ChutesError):
    code = "tee_required"
    default_hint = "TEE-only mode refused a model without TEE; pick a model whose id ends in -TEE."


class ModelNotAllowedError(ChutesError):
    code = "model_not_allowed"
    default_hint = "This server only serves the models in CHUTES_ALLOWED_MODELS; use one of those."


class CostLimitError(ChutesError):
    code = "cost_limit"
    default_hint = (
        "Lower max_tokens, shorten the prompt or pick a cheaper model; or raise max_cost_usd "
        "(the server-wide cap is CHUTES_MAX_COST_PER_CALL_USD)."
    )


class EmptyAnswerError(ChutesError):
    code = "empty_answer"
    default_hint = (
        "The model spent all of max_tokens thinking and wrote no answer: raise max_tokens, "
        "set thinking=false, or pass retry_without_thinking=true to retry once with thinking off."
    )


class BadRequestError(ChutesError):
    code = "bad_request"
    default_hint = "Fix the request arguments named in the message and try again."


class InvalidCursorError(BadRequestError):
    code = "invalid_cursor"
    default_hint = "Leave `cursor` out to start from the first page, or pass a cursor exactly as returned."


class UpstreamError(ChutesError):
    code = "upstream_error"


class ChutesTimeoutError(ChutesError):
    code = "timeout"
    default_hint = (
        "The call did not finish in time; raise CHUTES_TIMEOUT_S or timeout_s, or ask for fewer tokens."
    )
    default_retryable = True


class NetworkError(ChutesError):
    code = "network"
    default_hint = "Could not reach Chutes; check the network, proxy settings and the base URLs."
    default_retryable = True

    @classmethod
    def from_transport(
        cls,
        exc: BaseException,
        doing: str,
        *,
        url: httpx2.URL | None = None,
        invocation_id: str | None = None,
    ) -> NetworkError:
        """`exc`'s type, what failed, and why in the words of the socket or TLS layer underneath.

        httpx2 keeps only a summary; the reason ("certificate verify failed", "connection refused")
        is on the exceptions it was raised from. A certificate, TLS or proxy-credential failure is a
        setup problem, so it is not retried and its hint says what to set. With the request's `url`,
        a failure that is a proxy's names that proxy and the variable it came from.
        """
        cause = _innermost_cause(exc)
        hint: str | None
        status: int | None = None
        if isinstance(exc, httpx2.ProxyError):
            reason, hint, retryable, status = _proxy_answer(cause, url)
        else:
            reason, hint, retryable = _network_reason(cause, url)
        return cls(
            f"{type(exc).__name__} {doing}: {reason}",
            status=status,
            hint=hint,
            retryable=retryable,
            invocation_id=invocation_id,
        )


_CERTIFICATE_HINT = (
    "The server's TLS certificate is not trusted. If a proxy or firewall inspects HTTPS, point "
    "SSL_CERT_FILE (or SSL_CERT_DIR) at its CA certificate in PEM; otherwise check the base URL."
)
_TLS_HINT = (
    "The TLS handshake failed; check that the base URL's scheme and port are right "
    "(https:// needs a TLS port)."
)
_NAME_MISMATCH_HINT = (
    "The certificate is valid, but for another name than the host in the URL: check the host of the "
    "base URL (an IP address works only when the certificate lists it)."
)
_REFUSED_HINT = "Nothing accepts connections there; check the base URL and that the service is up."
_DNS_HINT = "The host name does not resolve; check the base URL and this machine's DNS."
PROXY_AUTH_HINT = (
    "The proxy asks for a user name and password: put them in its URL in HTTPS_PROXY (HTTP_PROXY for "
    "http:// base URLs), as http://user:password@host:port with special characters percent-encoded; "
    "or check them, if they are there."
)
# X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH: a trusted certificate, another name.
_NAME_MISMATCH_CODES = (62, 64)


def _proxy_hint(proxy: ProxyRoute, problem: str) -> str:
    return (
        f"{problem} the proxy {proxy.url} (from {proxy.variable}): correct or unset {proxy.variable}, or "
        "list the Chutes hosts in NO_PROXY to reach them without it."
    )


def _innermost_cause(exc: BaseException) -> BaseException:
    """The end of the chain of causes. `__context__` is followed too: httpcore2's pool re-raises a
    connection's error `from None`, which erases the `__cause__` set where it was raised, and leaves
    the socket's or TLS layer's error only on `__context__`."""
    seen = {id(exc)}
    while (cause := exc.__cause__ or exc.__context__) is not None and id(cause) not in seen:
        seen.add(id(cause))
        exc = cause
    return exc


def _network_reason(cause: BaseException, url: httpx2.URL | None) -> tuple[str, str | None, bool]:
    """A short reason, a hint (None: the default one), and whether trying again may help."""
    if isinstance(cause, ssl.SSLCertVerificationError):
        if cause.verify_code in _NAME_MISMATCH_CODES:
            named = (
                f"the certificate is not for {url.host}" if url is not None else "certificate name mismatch"
            )
            return f"{named} ({cause.verify_message})", _NAME_MISMATCH_HINT, False
        return f"certificate not trusted ({cause.verify_message})", _CERTIFICATE_HINT, False
    if isinstance(cause, ssl.SSLError):
        return f"TLS handshake failed ({cause.reason or cause})", _TLS_HINT, False
    # Through a proxy, the connection and the name lookup are the proxy's (it resolves the upstream).
    proxy = proxy_for(url) if url is not None else None
    if isinstance(cause, ConnectionRefusedError):
        if proxy is not None:
            reason = f"connection refused by the proxy {proxy.url}"
            return reason, _proxy_hint(proxy, "Nothing accepts connections at"), True
        return "connection refused", _REFUSED_HINT, True
    if isinstance(cause, socket.gaierror):
        if proxy is not None:
            reason = f"the host name of the proxy {proxy.url} does not resolve ({cause.strerror})"
            return reason, _proxy_hint(proxy, "This machine cannot resolve the host name of"), True
        return f"host name not resolved ({cause.strerror})", _DNS_HINT, True
    return str(cause) or type(cause).__name__, None, True


def _proxy_answer(cause: BaseException, url: httpx2.URL | None) -> tuple[str, str, bool, int | None]:
    """Why a proxy would not open a tunnel (httpx2's ProxyError says "<status> <reason>")."""
    answer = str(cause)
    found = re.match(r"\d{3}\b", answer)
    status = int(found.group()) if found else None
    proxy = proxy_for(url) if url is not None else None
    where = f"the proxy {proxy.url}" if proxy is not None else "the proxy"
    if status == 407:
        return f"{where} asks for credentials ({answer})", PROXY_AUTH_HINT, False, status
    hint = (
        _proxy_hint(proxy, "Chutes could not be reached through")
        if proxy is not None
        else "The proxy could not reach Chutes, or refuses to; check HTTPS_PROXY and NO_PROXY."
    )
    # A 5xx is the proxy failing to reach the host, which may pass; a 4xx is its policy, which will not.
    return (
        f"{where} would not connect ({answer or 'no reason given'})",
        hint,
        status is None or status >= 500,
        status,
    )


class CallCancelledError(ChutesError):
    code = "cancelled"
    default_hint = "The call was cancelled before it finished."
