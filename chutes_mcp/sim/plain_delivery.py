"""Sending a whole (non-streamed) JSON answer, or the scripted fault that spoils it.

- `midstream-error`: 500 `Unhandled error generating response: …` (what chutes-api answers when the
  engine fails before a non-streamed result is complete);
- `drop`: the status line and headers go out, then the connection is cut before any body;
- `malformed`: a 200 whose JSON body is cut in half;
- `slow-tokens` is a delay, applied by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from chutes_mcp.sim.faults import Fault, FaultKind
from chutes_mcp.sim.responses import detail

# What an upstream connection failure looks like from chutes-api's side (an aiohttp error text).
UPSTREAM_FAILURE = "Response payload is not completed"
JSON_TYPE = "application/json"


class AbortedResponse(Response):
    """Headers without a length, then nothing: the client sees the connection die mid-response."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.status_code = 200
        self.background = None
        self.media_type = JSON_TYPE
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        # Returning before the body is complete makes uvicorn close the connection.


def deliver(body: bytes, headers: Mapping[str, str], fault: Fault | None) -> Response:
    kind = fault.kind if fault is not None else None
    if kind is FaultKind.MIDSTREAM_ERROR:
        return detail(500, f"Unhandled error generating response: {UPSTREAM_FAILURE}")
    if kind is FaultKind.DROP:
        return AbortedResponse(headers)
    if kind is FaultKind.MALFORMED:
        body = body[: len(body) // 2]
    return Response(body, media_type=JSON_TYPE, headers=dict(headers))
