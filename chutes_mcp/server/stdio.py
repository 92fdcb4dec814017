"""Serving MCP over stdio: the SDK's transport, between a relay of stdin and a relay of stdout.

What the SDK's `stdio_server()` (mcp 2.3.0) lacks, each seen on real pipes by a test here:
- It reads stdin through a `TextIOWrapper` in universal-newlines mode. A message ended by a lone CR is
  held back until the next byte arrives, because the wrapper looks ahead for an LF to see whether the CR
  is half of a CRLF: a host that sends one CR-terminated request and waits for its answer waits forever.
  The same wrapper takes a stdin the host left non-blocking for closed as soon as no data is waiting.
  No upstream issue was found for either (python-sdk#2433 is about CRLF written on Windows; its proposed
  fix, `newline=""`, keeps the look-ahead).
- At the end of stdin its dispatcher cancels every handler still running and answers it with -32000
  "Connection closed", and a request whose answer is being handed to the stdout writer at that moment
  sometimes gets no answer at all (python-sdk#2678, open; of the PRs for it, #2680 is open and waits
  without a bound). A host that sends its last requests and closes stdin (a script, a host shutting
  down) loses their real results, or waits for an answer that never comes.
- Its writer blocks for good on a host that closed stdin but reads no more of stdout: the process never
  exits. On a stdout the host left non-blocking, it fails as soon as the pipe is full, an answer cut
  off mid-line. No upstream issue was found for either.
- It stops the whole server, with a traceback, when the host closes its end of stdout (python-sdk PR
  #3097, open).
- A line it cannot read as a message (not JSON, a batch, `params` that are no object, nesting too deep
  for its parser, a lone surrogate, an integer of thousands of digits) is dropped without an answer,
  and a request whose `id` is null or a fraction is taken for a notification: the host waits for ever.
  No upstream issue was found.

So while the SDK serves, fd 0 is the read end of a pipe of ours and fd 1 one end of a socket pair of
ours, each claimed by the SDK as it claims the host's (it serves the wire from a private duplicate and
points fd 0 at the null device, fd 1 at stderr). Two daemon threads stand between them and the host:
- The stdin relay copies the host's stdin into our pipe with plain blocking reads, writing each line end
  (CRLF, CR or LF) as one LF; JSON text has no raw CR or LF inside a string, so only line ends change.
  It reads each line as the SDK will (the SDK's own validation, on the same text) before passing it
  on whole, and notes the id of each request in it (`method` and `id`), dropping it again when the
  host cancels it (`notifications/cancelled`: the SDK answers no cancelled request). A line the SDK
  could not read is not passed on: the relay answers it itself, with -32700 (parse error) or -32600
  (invalid request), and the request's id when it can be read (only from a line with a `method`: a
  broken response's id is one of the server's own). Blank lines are skipped. When the host's stdin
  ends, or the server is told to stop, the relay holds the end of input back from the SDK until every
  noted request is answered.
- The stdout relay copies the SDK's output to the host's stdout and drops the id of each answer (`id`
  and `result` or `error`, no `method`) once the host has it whole. Server-to-client requests carry an
  id too, and the client's responses to them have no method: neither is a request the host is owed. The
  SDK writes an answer's envelope keys before its result, so an answer of megabytes is known by its
  first bytes; a line in any other order is parsed whole. The relay writes each chunk to the host before
  it reads the next, so a host that reads slowly slows the SDK's writer down (back-pressure, not a
  growing buffer), and it waits for room on a non-blocking stdout. The stdin relay's own answers go
  out through it too, between two of the SDK's lines, never inside one.
Nothing here sets a flag on the host's pipes: their modes live on file descriptions the host shares, and
outlast this process.

A handler can run for minutes (a long `chat`) and a host that closed stdin wants the process gone, so
the end of stdin (or SIGTERM, or SIGINT when stdin is no terminal) drains the server (`shutdown.py`):
tool calls get the shutdown grace period (`CHUTES_MCP_SHUTDOWN_GRACE_S`) to finish, and those still
running then answer with the `shutdown` error and the text they had streamed; a second signal ends them
at once. The relay holds the end of input back that long, and `ENDING_S` more for those answers (after a
signal, it reads stdin on until the drain is over, then ends the input itself); then the SDK ends
whatever is left as it always does. It gets `_LAST_WORDS_S` more to finish; if it cannot, its writer
is blocked on a host that reads no more, and the stdout relay stops taking its output. The SDK's next
write then fails as on a closed stdout, which is also what happens when the host closes its end: answers
cannot reach it any more, so the server stops working for it and reads stdin until the host closes that
too, which is when a stdio server exits.

The SDK never closes its private duplicates (a worker thread may still block on one). A pipe whose
write end it keeps open never ends, which is why stdout goes through a socket pair: shutting down our
end of it reaches every duplicate, so the stdout relay sees the end of the SDK's output in band.

The wrapper can go when the SDK splits stdin on LF alone, without looking ahead, and waits for data on
any stdin; answers, for a bounded time, every request it read before the end of stdin; writes every
answer whole to a non-blocking stdout and gives up on a host that stopped reading once stdin is closed;
and takes a closed stdout for the end of the session.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.shared.dispatcher import as_request_id, coerce_request_id
from mcp.shared.jsonrpc_dispatcher import cancelled_request_id_from_params
from mcp.types import INVALID_REQUEST, PARSE_ERROR
from mcp_types import (
    ErrorData,
    JSONRPCError,
    JSONRPCNotification,
    JSONRPCRequest,
    RequestId,
    jsonrpc_message_adapter,
)
from pydantic import ValidationError

from chutes_mcp.log import get_logger
from chutes_mcp.server.shutdown import ENDING_S, Shutdown

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = get_logger(__name__)

_READ_SIZE = 1 << 16
# The SDK bounds each of its own last writes at shutdown (a "Connection closed" for every handler it
# ends) by one second; once the grace period is over, it gets as long to finish and the host to read.
_LAST_WORDS_S = 1.0
# How the SDK begins each message it writes: the envelope keys in their model's order, compact.
_HEAD = re.compile(rb'\{"jsonrpc":"2\.0",(?:"id":(-?\d+|"(?:[^"\\]|\\.)*"),)?"(result|error|method)":')
# Logged (at DEBUG) for a blank line, which is neither passed on nor answered: whitespace between messages.
BLANK_LINE = "stdin: a blank line, skipped"
# The relay's own answers not yet written: past this many, reading stdin waits for the host to read.
_MAX_REPLIES = 64
# A member of a message's envelope with a plain value, as a line that no parser takes may still begin.
_ENVELOPE_MEMBER = re.compile(
    rb'\s*"(jsonrpc|id|method)"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*"|null|true|false)\s*(?:,|(?=\}))'
)


class _Bridge:
    """What the two relays share: the requests the host is owed answers to, the relay's own answers,
    and how the session ends."""

    def __init__(self, grace_s: float, sdk_output: socket.socket) -> None:
        self._grace_s = grace_s
        self._changed = threading.Condition()
        self._owed: Counter[RequestId] = Counter()
        self._host_gone = False
        self._input_ended_at: float | None = None
        # How long the end of input waits for answers: the grace period, and the time the calls ended
        # then have to answer.
        self._wait_s = grace_s + ENDING_S
        self.served = threading.Event()
        self._sdk_output = sdk_output
        self._sdk_output_open = True
        self._replies: deque[bytes] = deque()
        # Each pipe wakes a relay from its wait: the stdin relay to stop reading, the stdout relay to
        # write the stdin relay's answers.
        self.stop_wanted, self._stop_pipe = os.pipe()
        self.replies_ready, self._replies_pipe = os.pipe()
        # Told when the host's stdin has ended; set by the server, called from the stdin relay.
        self.on_input_end: Callable[[], None] = lambda: None

    def received(self, request_id: RequestId) -> None:
        with self._changed:
            self._owed[coerce_request_id(request_id)] += 1

    def settled(self, request_id: RequestId) -> None:
        """The request was answered, or cancelled by the host."""
        key = coerce_request_id(request_id)
        with self._changed:
            if key not in self._owed:
                return  # an answer that came after the host's cancel, or a stray id
            self._owed[key] -= 1
            if not self._owed[key]:
                del self._owed[key]
            if not self._owed:
                self._changed.notify_all()

    def owed(self) -> int:
        """How many requests the host still waits for an answer to."""
        with self._changed:
            return self._owed.total()

    def reply(self, line: bytes) -> None:
        """Send the host an answer of the relay's own, through the stdout relay."""
        with self._changed:
            self._changed.wait_for(
                lambda: len(self._replies) < _MAX_REPLIES or self._host_gone or not self._sdk_output_open
            )
            if self._host_gone or not self._sdk_output_open:
                return  # nobody will write it
            self._replies.append(line)
        with contextlib.suppress(OSError):
            os.write(self._replies_pipe, b"!")

    def take_replies(self) -> list[bytes]:
        with self._changed:
            replies = list(self._replies)
            self._replies.clear()
            self._changed.notify_all()
        return replies

    def stop_reading(self) -> None:
        """The server has drained: stdin is read no more, as if it had ended, and what is still owed
        gets `ENDING_S` (the drain had the grace period)."""
        with self._changed:
            if self._input_ended_at is not None:
                return  # stdin has ended already, and the wait for answers is under way
            self._wait_s = ENDING_S
        with contextlib.suppress(OSError):
            os.write(self._stop_pipe, b"!")

    def host_gone(self) -> None:
        """stdout is closed: nothing can be answered any more, and the SDK is to stop at its next write."""
        with self._changed:
            self._host_gone = True
            self._changed.notify_all()
        self.refuse_sdk_output()

    def wait_for_answers(self) -> None:
        """Once stdin is read no more: until every request is answered, for `_wait_s` at most."""
        with self._changed:
            self._input_ended_at = time.monotonic()
            if self._owed and not self._host_gone:
                log.debug("stdin closed; waiting for answers", requests=self._owed.total())
            if not self._changed.wait_for(lambda: not self._owed or self._host_gone, self._wait_s):
                log.warning(
                    "stdin closed and the shutdown grace period is over; ending the requests still running",
                    requests=self._owed.total(),
                    grace_s=self._grace_s,
                )

    def last_call(self) -> float:
        """Until when the host is waited for: past the grace period and the SDK's last words."""
        with self._changed:
            ended = self._input_ended_at
        now = time.monotonic()
        if ended is None:
            return now + _LAST_WORDS_S
        return max(now, ended + self._wait_s + _LAST_WORDS_S)

    def cut_off_a_stalled_host(self) -> None:
        """Once the SDK has its end of input: if it cannot finish by the last call, its writer is
        blocked on a host that reads no more, so its next write is made to fail."""
        if not self.served.wait(max(0.0, self.last_call() - time.monotonic())):
            log.warning("the host reads no more of stdout; dropping the answers it has not read")
            self.refuse_sdk_output()

    def refuse_sdk_output(self) -> None:
        # shutdown() rather than close: the stdout relay may be reading the socket at this moment.
        with self._changed, contextlib.suppress(OSError):
            if self._sdk_output_open:
                self._sdk_output.shutdown(socket.SHUT_RD)

    def close_sdk_output(self) -> None:
        with self._changed:
            self._sdk_output_open = False
            self._sdk_output.close()
            self._changed.notify_all()

    def close_stop_pipe(self) -> None:
        os.close(self._stop_pipe)

    def close_replies_pipe(self) -> None:
        os.close(self._replies_pipe)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            # A host's non-blocking stdout: wait for room rather than change its mode.
            select.select([], [fd], [])


def _lines(data: bytes, partial: bytearray) -> Iterator[bytes | bytearray]:
    """The lines `data` completes, without their LF; the unfinished rest is kept in `partial`.

    Only `data` is searched for line ends, so a line of megabytes that comes in many reads is scanned once.
    """
    start = 0
    while (end := data.find(b"\n", start)) != -1:
        if partial:
            partial += memoryview(data)[start:end]
            yield partial
            partial.clear()
        else:
            yield data[start:end]
        start = end + 1
    partial += memoryview(data)[start:]


def _is_id(value: object) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


def _envelope(line: bytes | bytearray) -> dict[str, Any]:
    """`jsonrpc`, `id` and `method` as a line begins with them, for a line no JSON parser takes whole."""
    members: dict[str, Any] = {}
    start = line.find(b"{")
    if start == -1 or line[:start].strip():
        return members
    position = start + 1
    while (match := _ENVELOPE_MEMBER.match(line, position)) is not None:
        with contextlib.suppress(ValueError):
            members[match.group(1).decode()] = json.loads(match.group(2))
        position = match.end()
    return members


def _loosely(text: str) -> Any:
    """`text` as Python's own JSON parser reads it (lone surrogates, deeper nesting), or None: to find out
    more about a line the SDK's parser refused."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _request_id_of(line: bytes | bytearray, message: Any) -> RequestId | None:
    """The id of a line that asks for something (it has a `method`), as far as it can be read."""
    if message is None:
        message = _envelope(line)
    if isinstance(message, dict) and "method" in message and _is_id(message.get("id")):
        request_id: RequestId = message["id"]
        return request_id
    return None


def _invalid_request_reason(message: Any, error: ValidationError | None) -> str:
    if not isinstance(message, dict):
        return "a message is one JSON object (batches are not supported)"
    if message.get("jsonrpc") != "2.0":
        return 'a message needs "jsonrpc": "2.0"'
    if "id" in message and not _is_id(message["id"]):
        return "a request's id is a string or an integer (not null, a fraction or a boolean)"
    if error is None:
        return "not a request, a notification or a response"
    kind = ("JSONRPCRequest" if "id" in message else "JSONRPCNotification") if "method" in message else None
    problems = [
        f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'message'}: {problem['msg']}"
        for problem in error.errors(include_url=False)
        if kind is None or problem["loc"][:1] == (kind,)
    ]
    return "; ".join(problems[:3])


def _error_line(request_id: RequestId | None, code: int, message: str) -> bytes:
    error = JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))
    return error.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"


def _admit(line: bytes | bytearray, bridge: _Bridge) -> bool:
    """Whether to pass `line` on to the SDK, reading it as the SDK will: a request is noted (a cancelled
    one forgotten), and a line the SDK could not read is answered here instead."""
    text = line.decode("utf-8", "replace")  # as the SDK's text wrapper decodes stdin
    if not text.strip():
        log.debug(BLANK_LINE)
        return False
    try:
        message = jsonrpc_message_adapter.validate_json(text, by_name=False)
    except ValidationError as error:
        loose = _loosely(text)
        if any(problem["type"] in ("json_invalid", "string_unicode") for problem in error.errors()):
            detail = error.errors()[0]["msg"].removeprefix("Invalid JSON: ")
            bridge.reply(_error_line(_request_id_of(line, loose), PARSE_ERROR, f"Parse error: {detail}"))
        else:
            reason = _invalid_request_reason(loose, error)
            bridge.reply(
                _error_line(_request_id_of(line, loose), INVALID_REQUEST, f"Invalid Request: {reason}")
            )
        return False
    if isinstance(message, JSONRPCRequest):
        bridge.received(message.id)
    elif isinstance(message, JSONRPCNotification):
        loose = _loosely(text) if b'"id"' in line else None
        if isinstance(loose, dict) and "id" in loose:
            # The SDK takes a request with a null or fractional id for a notification, and answers none.
            reason = _invalid_request_reason(loose, None)
            bridge.reply(_error_line(None, INVALID_REQUEST, f"Invalid Request: {reason}"))
            return False
        if message.method == "notifications/cancelled":
            request_id = cancelled_request_id_from_params(message.params)
            if request_id is not None:
                bridge.settled(request_id)
    return True


def _answered_id(line: bytes | bytearray) -> RequestId | None:
    """The id of the request `line` answers, or None if it is no answer."""
    head = _HEAD.match(line)
    if head is not None:
        request_id, key = head.groups()
        return None if key == b"method" or request_id is None else as_request_id(json.loads(request_id))
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if isinstance(message, dict) and "method" not in message and ("result" in message or "error" in message):
        return as_request_id(message.get("id"))
    return None


def _relay_stdin(source: int, sink: int, bridge: _Bridge) -> None:
    """Copy `source` into `sink` line by line, each line end as LF, until `source` ends or the server
    stops, and every request is answered (or the grace period is over); then close both."""
    after_cr = False
    partial = bytearray()
    stopped = False
    try:
        while True:
            ready, _, _ = select.select([source, bridge.stop_wanted], [], [])
            if bridge.stop_wanted in ready:
                stopped = True
                break
            try:
                data = os.read(source, _READ_SIZE)
            except BlockingIOError:
                continue  # a host's non-blocking stdin with nothing to read after all
            if not data:
                break
            if after_cr and data.startswith(b"\n"):
                data = data[1:]  # the rest of a CRLF whose CR ended the previous read, already sent
            after_cr = data.endswith(b"\r")
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            admitted = b"".join(bytes(line) + b"\n" for line in _lines(data, partial) if _admit(line, bridge))
            if admitted:
                _write_all(sink, admitted)
        if partial and not stopped and _admit(partial, bridge):
            # The SDK reads a last line that no line end closes, too.
            _write_all(sink, bytes(partial))
    except OSError as error:
        # stdin failed (a terminal hung up, say) or nothing reads the pipe any more: input is over.
        log.debug("stdin relay stopped", error=repr(error))
    finally:
        os.close(bridge.stop_wanted)
    if not stopped:
        bridge.on_input_end()
    try:
        bridge.wait_for_answers()
    finally:
        # Closing the write end is the SDK's end of input.
        os.close(sink)
        os.close(source)
        bridge.close_replies_pipe()
    bridge.cut_off_a_stalled_host()


def _relay_stdout(source: socket.socket, sink: int, bridge: _Bridge) -> None:
    """Copy the SDK's output from `source` to the host's stdout `sink` until it ends, settling each
    answer once the host has it whole, with the stdin relay's answers between its lines; then close
    both."""
    partial = bytearray()
    try:
        while True:
            ready, _, _ = select.select([source.fileno(), bridge.replies_ready], [], [])
            if bridge.replies_ready in ready:
                os.read(bridge.replies_ready, _READ_SIZE)
            if source.fileno() in ready:
                data = source.recv(_READ_SIZE)
                if not data:
                    break
                _write_all(sink, data)
                for line in _lines(data, partial):
                    if (request_id := _answered_id(line)) is not None:
                        bridge.settled(request_id)
            if not partial:
                for reply in bridge.take_replies():
                    _write_all(sink, reply)
        if not partial:
            for reply in bridge.take_replies():
                _write_all(sink, reply)
    except OSError as error:
        # The host closed its end of stdout (or a terminal hung up): no answer can reach it any more.
        log.debug("stdout relay stopped", error=repr(error))
        bridge.host_gone()
    finally:
        bridge.close_sdk_output()
        os.close(bridge.replies_ready)
        os.close(sink)


def _discard_until_end(fd: int) -> None:
    """Read `fd` to its end and close it, so a host still writing never blocks on a full pipe."""
    try:
        while os.read(fd, _READ_SIZE):
            pass
    finally:
        os.close(fd)


async def serve_stdio(
    server: MCPServer[Any],
    *,
    shutdown_grace_s: float,
    shutdown: Shutdown,
    stop_signals: Collection[signal.Signals] = (),
) -> int | None:
    """Serve `server` on this process's stdin and stdout until the client hangs up or one of
    `stop_signals` stops it; the signal that did, if one did.

    Once stdin has ended (or a signal came), tool calls still running get `shutdown_grace_s` to finish
    before they are ended with the `shutdown` error, and every answer owed to the host is written first.
    """
    if os.name != "posix":
        # The descriptor moves below are POSIX; on Windows the SDK rebinds the standard handles itself.
        await _serve(server)
        return None
    try:
        host_stdin = os.dup(0)
        try:
            host_stdout = os.dup(1)
        except OSError:
            os.close(host_stdin)
            raise
    except OSError:
        # No stdin or no stdout at all: nothing to relay, and the SDK's transport copes as well as it can.
        await _serve(server)
        return None
    # Listening before anything is read: a signal that came first would end the process unanswered.
    with anyio.open_signal_receiver(*stop_signals) as signals:
        return await _serve_relayed(server, host_stdin, host_stdout, shutdown_grace_s, shutdown, signals)


async def _serve_relayed(
    server: MCPServer[Any],
    host_stdin: int,
    host_stdout: int,
    shutdown_grace_s: float,
    shutdown: Shutdown,
    signals: AsyncIterator[signal.Signals],
) -> int | None:
    saved_stdin, saved_stdout = os.dup(0), os.dup(1)
    read_end, write_end = os.pipe()
    os.dup2(read_end, 0)
    os.close(read_end)
    sdk_output, sdk_writer = socket.socketpair()
    os.dup2(sdk_writer.fileno(), 1)
    bridge = _Bridge(shutdown_grace_s, sdk_output)
    # Stop requests, in order: a signal's number, or None for the end of stdin.
    requests, received = anyio.create_memory_object_stream[int | None](16)
    token = anyio.lowlevel.current_token()

    def input_ended() -> None:
        # The loop may be gone already (the server stopped first): then nobody needs telling.
        with contextlib.suppress(Exception):
            anyio.from_thread.run_sync(requests.send_nowait, None, token=token)

    bridge.on_input_end = input_ended
    # Daemons: if the server stops before the host closes stdin, a read may still be waiting, and a
    # host that reads no more of stdout leaves a write waiting; the process must be able to exit under
    # either.
    threading.Thread(
        target=_relay_stdin, args=(host_stdin, write_end, bridge), name="stdin-relay", daemon=True
    ).start()
    stdout_relay = threading.Thread(
        target=_relay_stdout, args=(sdk_output, host_stdout, bridge), name="stdout-relay", daemon=True
    )
    stdout_relay.start()
    stopped_by: list[int] = []
    try:
        async with anyio.create_task_group() as stopping:
            stopping.start_soon(_forward_signals, signals, requests)
            stopping.start_soon(_stop_on_request, received, bridge, shutdown, shutdown_grace_s, stopped_by)
            await _serve(server)
            stopping.cancel_scope.cancel()
    finally:
        bridge.served.set()
        bridge.close_stop_pipe()
        os.dup2(saved_stdin, 0)
        os.close(saved_stdin)
        os.dup2(saved_stdout, 1)
        os.close(saved_stdout)
        # The SDK has written its last: the end of its output, for the stdout relay to pass on.
        sdk_writer.shutdown(socket.SHUT_WR)
        sdk_writer.close()
        timeout = bridge.last_call() - time.monotonic()
        await anyio.to_thread.run_sync(stdout_relay.join, timeout, abandon_on_cancel=True)
    return stopped_by[0] if stopped_by else None


async def _forward_signals(
    signals: AsyncIterator[signal.Signals], requests: MemoryObjectSendStream[int | None]
) -> None:
    async for signum in signals:
        await requests.send(signum)


async def _stop_on_request(
    requests: MemoryObjectReceiveStream[int | None],
    bridge: _Bridge,
    shutdown: Shutdown,
    grace_s: float,
    stopped_by: list[int],
) -> None:
    """The first stop request drains the server; any later one ends its calls at once."""
    first = await requests.receive()
    if first is not None:
        stopped_by.append(first)
        log.info("stopping on a signal", signal=signal.Signals(first).name)
    async with anyio.create_task_group() as draining:

        async def cut_on_another() -> None:
            async for later in requests:
                if later is not None:
                    stopped_by.append(later)
                shutdown.cut()

        draining.start_soon(cut_on_another)
        await shutdown.drain(grace_s, bridge.owed)
        draining.cancel_scope.cancel()
    # Requests that came while the calls finished were answered too (a host lists the tools again,
    # say); now the input ends, if the host has not ended it.
    bridge.stop_reading()


async def _serve(server: MCPServer[Any]) -> None:
    try:
        await server.run_stdio_async()
    except* BrokenPipeError:
        log.info("answers can no longer reach the host; reading stdin until it closes")
        # A duplicate of its own: a read left behind by a cancellation must not land on whatever fd 0
        # is once it is put back.
        await anyio.to_thread.run_sync(_discard_until_end, os.dup(0), abandon_on_cancel=True)
