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
from collections.abc import Iterator, Mapping

import anyio
import anyio.lowlevel
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
# asyncio's default write-buffer high-water mark: a body below it never makes a send wait for the
# client, so no disconnect can be noticed before the stream ends and no watcher is needed for one.
UNWATCHED_BODY_BYTES = 64 * 1024

# One SSE event, and whether the token clock gates it (token chunks do; role, finish, usage and the
# fault lines do not).
SseEvent = tuple[bytes, bool]


def chat_events(
    generation: Generation, writer: ChunkWriter, call_ids: list[str], fault: Fault | None
) -> tuple[list[SseEvent], bool]:
    """The whole body, in events, and whether the connection is cut after the last one.

    The engine's output is fixed before the first byte goes out, so rendering it all at once gives
    the same bytes as rendering it as the stream goes, without resuming a generator per chunk.
    """
    events: list[SseEvent] = [(writer.role(), False)]
    pending = fault
    for chunk in _token_chunks(generation, writer, call_ids):
        events.append((chunk, True))
        if pending is not None:
            if pending.kind is FaultKind.MIDSTREAM_ERROR:
                events.append((MIDSTREAM_ERROR_LINE, False))
                return events, False
            if pending.kind is FaultKind.DROP:
                return events, True
            if pending.kind is FaultKind.MALFORMED:
                events.append((MALFORMED_LINE, False))
            pending = None
    events.append((writer.finish(generation.finish_reason, generation.matched_stop), False))
    events += [(writer.usage(), False), (DONE, False)]
    return events, False


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
    """An SSE response that tells streams the client abandoned from streams the server finished.

    Each event is one body message, so one HTTP chunk, as the engine's lines are. A disconnect can
    only be noticed while the stream waits: for the token clock, or for a client too slow to take the
    body; only a stream that may wait runs a watcher for it.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        generation: Generation,
        writer: ChunkWriter,
        call_ids: list[str],
        pacing: Pacing,
        fault: Fault | None,
        headers: Mapping[str, str],
        stats: Stats,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers({**headers, **STREAM_HEADERS})
        self._pacing = pacing
        self._events, self._dropped = chat_events(generation, writer, call_ids, fault)
        self._may_wait = (
            pacing.per_token_s > 0 or sum(len(chunk) for chunk, _ in self._events) > UNWATCHED_BODY_BYTES
        )
        self._stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._pacing.first_token()
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        self._stats.stream_opened()
        server_ended = False
        try:
            if not self._may_wait:
                await self._send_events(send)
                server_ended = True
                # A watched stream stays open two loop turns longer, while its watcher winds down; so
                # does this one, or concurrent streams would stop overlapping in `streams.peak`.
                await anyio.lowlevel.checkpoint()
                await anyio.lowlevel.checkpoint()
            else:
                async with anyio.create_task_group() as group:
                    group.start_soon(_cancel_on_disconnect, receive, group.cancel_scope)
                    await self._send_events(send)
                    server_ended = True
                    group.cancel_scope.cancel()
        finally:
            self._stats.stream_closed(completed=server_ended)

    async def _send_events(self, send: Send) -> None:
        # The schedule starts at the first token, as the engine's does.
        clock = self._pacing.clock()
        # The last event carries the end of the body: the same bytes on the wire as an empty closing
        # message, one send fewer. A dropped stream returns unfinished, which makes uvicorn abort the
        # connection.
        last = len(self._events) - 1
        for index, (chunk, is_token) in enumerate(self._events):
            if is_token and clock is not None:
                await clock.tick()
            more = self._dropped or index < last
            await send({"type": "http.response.body", "body": chunk, "more_body": more})


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()
