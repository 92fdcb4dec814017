"""The HTTP answers of scripted faults that replace a whole response, with the real bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from chutes_mcp.sim.faults import Fault, FaultKind
from chutes_mcp.sim.responses import detail, nginx_429

# A made-up ss58 address in the real message's place: the shape matters, not the wallet.
_PAYMENT_ADDRESS = "5SimuLatorPaymentAddressDoNotSendTaoHere000000000"
TEE_REFUSAL = "This chute does not have TEE enabled. Remove the X-TEE-Only header or choose a TEE chute."


def next_utc_midnight() -> str:
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC).isoformat()


def quota_exceeded() -> Response:
    return detail(
        402,
        {
            "message": (
                "Quota exceeded and account balance is $0.0, please pay with fiat or send tao to "
                + _PAYMENT_ADDRESS
            ),
            "quota_reset_timestamp": next_utc_midnight(),
        },
    )


def error_response(fault: Fault, chute_id: str) -> Response | None:
    """The response that replaces a request's normal answer, or None for faults applied while serving."""
    match fault.kind:
        case FaultKind.RATE_LIMITED:
            return detail(429, "Infrastructure is at maximum capacity, try again later")
        case FaultKind.RATE_LIMITED_HTML:
            return nginx_429()
        case FaultKind.NO_INSTANCES:
            return detail(503, f"No instances available (yet) for chute_id='{chute_id}'")
        case FaultKind.QUOTA_EXCEEDED:
            return quota_exceeded()
        case FaultKind.EXHAUSTED:
            return detail(500, "exhausted all available targets to no avail")
        case FaultKind.TEE_REQUIRED:
            return detail(426, TEE_REFUSAL)
        case FaultKind.INVALID_TOKEN:
            return detail(401, "Invalid token.")
        case FaultKind.FORBIDDEN_SCOPE:
            return detail(403, "Token does not have permission for this resource")
        case _:
            return None
