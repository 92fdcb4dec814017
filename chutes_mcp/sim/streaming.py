"""Server-sent events for `stream: true`, with the scripted faults that strike mid-stream.

Like chutes-api, the response starts only once the first engine chunk exists (after the time to first
token), so anything that fails before that is a proper HTTP status. Mid-stream faults strike right after
the first token chunk:
- `midstream-error`: the bare line `{"error": "Unhandled exception during response stream: …"}` (no
  `data:`, no `[DONE]`), then the response ends, as chutes-api's `_buffered_stream_response` does;
- `drop`: the connection is closed with the chunked body unfinished;
- `malformed`: one `data: {` line of broken JSON, then the stream goes on normally.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import aclosing

import anyio
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from chutes_mcp.sim.completion_shapes import DONE, ChunkWriter
from chutes_mcp.sim.faults import Fault, FaultKind
from chutes_mcp.sim.generation import Generation, tokens
from chutes_mcp.sim.pacing import Pacing
from chutes_mcp.sim.plain_delivery import UPSTREAM_FAILURE
from chutes_mcp.sim.stats import Stats

MIDSTREAM_ERROR_LINE = (
    json.dumps({"error": f"Unhandled exception during response stream: {UPSTREAM_FAILURE}"}) + "\n"
).encode()
MALFORMED_LINE = b"data: {\n\n"
STREAM_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


class StreamDropped(Exception):
    """Raised by the event source to have the connection cut mid-body."""


def chat_events(
    generation: Generation, writer: ChunkWriter, call_ids: list[str], pacing: Pacing, fault: Fault | None
) -> AsyncGenerator[bytes, None]:
    async def events() -> AsyncGenerator[bytes, None]:
        await pacing.first_token()
        yield writer.role()
        clock = pacing.clock()
        pending = fault
        for chunk in _token_chunks(generation, writer, call_ids):
            if clock is not None:
                await clock.tick()
            yield chunk
            if pending is not None:
                if pending.kind is FaultKind.MIDSTREAM_ERROR:
                    yield MIDSTREAM_ERROR_LINE
                    return
                if pending.kind is FaultKind.DROP:
                    raise StreamDropped
                if pending.kind is FaultKind.MALFORMED:
                    yield MALFORMED_LINE
                pending = None
        yield writer.finish(generation.finish_reason, generation.matched_stop)
        yield writer.usage()
        yield DONE

    return events()


def _token_chunks(generation: Generation, writer: ChunkWriter, call_ids: list[str]) -> Iterator[bytes]:
    for piece in generation.reasoning:
        yield writer.reasoning(piece)
    for piece in generation.content or ():
        yield writer.content(piece)
    for index, (call, call_id) in enumerate(zip(generation.tool_calls, call_ids, strict=True)):
        yield writer.tool_call_start(index, call_id, call)
        for piece in tokens(call.arguments):
            yield writer.tool_call_arguments(index, piece)


class EventStream(Response):
    """An SSE response that tells streams the client abandoned from streams the server finished."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncGenerator[bytes, None], headers: Mapping[str, str], stats: Stats) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({**headers, **STREAM_HEADERS})
        self._events = events
        self._stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with aclosing(self._events) as events:
            first = await anext(events, b"")
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            self._stats.stream_opened()
            server_ended = False
            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                    try:
                        await send({"type": "http.response.body", "body": first, "more_body": True})
                        async for chunk in events:
                            await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    except StreamDropped:
                        # Returning with the body unfinished makes uvicorn abort the connection.
                        server_ended = True
                    else:
                        server_ended = True
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                    group.cancel_scope.cancel()
            finally:
                self._stats.stream_closed(completed=server_ended)


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
