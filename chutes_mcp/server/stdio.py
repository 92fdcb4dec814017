"""Serving MCP over stdio: the SDK's transport, fed by a relay that ends every line at once.

The SDK's `stdio_server()` (mcp 2.3.0) reads stdin through a `TextIOWrapper` in universal-newlines
mode. A message ended by a lone CR is held back until the next byte arrives, because the wrapper looks
ahead for an LF to see whether the CR is half of a CRLF; a host that sends one CR-terminated request and
waits for its answer waits forever. The same wrapper also takes a stdin the host left in non-blocking
mode for closed as soon as no data is waiting. No upstream issue was found for either (python-sdk#2433
is about CRLF written on Windows; its proposed fix, `newline=""`, keeps the look-ahead). The relay can
go when the SDK splits stdin on LF alone, without looking ahead, and waits for data on any stdin.

So while the SDK serves, fd 0 is the read end of a pipe of ours, and a thread copies the host's stdin
into it with plain blocking reads, writing each line end (CRLF, CR or LF) as one LF. JSON text has no
raw CR or LF inside a string, so only line ends change. Nothing here sets a flag on the host's pipes:
their modes live on file descriptions the host shares, and outlast this process.

The SDK's writer also stops the whole server, with a traceback, when the host closes its end of stdout
(python-sdk PR #3097, open). Answers cannot reach such a host any more, so the server stops working
for it and reads stdin until the host closes that too, which is when a stdio server exits. That part
can go when the SDK's writer takes a closed stdout for the end of the session.
"""

from __future__ import annotations

import os
import select
import threading
from typing import TYPE_CHECKING, Any

import anyio

from chutes_mcp.log import get_logger

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = get_logger(__name__)

_READ_SIZE = 1 << 16


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _relay(source: int, sink: int) -> None:
    """Copy `source` into `sink` with every line end as LF, until `source` ends; then close both."""
    after_cr = False
    try:
        while True:
            try:
                data = os.read(source, _READ_SIZE)
            except BlockingIOError:
                # The host handed over a non-blocking stdin: wait for data rather than change its mode.
                select.select([source], [], [])
                continue
            if not data:
                return
            if after_cr and data.startswith(b"\n"):
                data = data[1:]  # the rest of a CRLF whose CR ended the previous read, already sent
            after_cr = data.endswith(b"\r")
            _write_all(sink, data.replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
    except OSError as error:
        # stdin failed (a terminal hung up, say) or nothing reads the pipe any more: input is over.
        log.debug("stdin relay stopped", error=repr(error))
    finally:
        # Closing the write end is the SDK's end of input.
        os.close(sink)
        os.close(source)


def _discard_until_end(fd: int) -> None:
    """Read `fd` to its end and close it, so a host still writing never blocks on a full pipe."""
    try:
        while os.read(fd, _READ_SIZE):
            pass
    finally:
        os.close(fd)


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve `server` on this process's stdin and stdout until the client hangs up."""
    if os.name != "posix":
        # The descriptor moves below are POSIX; on Windows the SDK rebinds the standard handles itself.
        await _serve(server)
        return
    try:
        host_stdin = os.dup(0)
    except OSError:
        # No stdin at all: nothing to relay, and the SDK's transport copes as well as it can.
        await _serve(server)
        return
    saved_stdin = os.dup(0)
    read_end, write_end = os.pipe()
    os.dup2(read_end, 0)
    os.close(read_end)
    # A daemon: if the server stops before the host closes stdin, a read may still be waiting, and the
    # process must be able to exit under it.
    threading.Thread(target=_relay, args=(host_stdin, write_end), name="stdin-relay", daemon=True).start()
    try:
        await _serve(server)
    finally:
        os.dup2(saved_stdin, 0)
        os.close(saved_stdin)


async def _serve(server: MCPServer[Any]) -> None:
    try:
        await server.run_stdio_async()
    except* BrokenPipeError:
        log.info("the host closed stdout; waiting for it to close stdin")
        # A duplicate of its own: a read left behind by a cancellation must not land on whatever fd 0
        # is once it is put back.
        await anyio.to_thread.run_sync(_discard_until_end, os.dup(0), abandon_on_cancel=True)
