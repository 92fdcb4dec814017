"""Stopping a serving process without cutting its tool calls off mid-answer.

Every tool call runs inside `Shutdown.call()`. A stop (SIGTERM, SIGINT, or a stdio host closing
stdin) drains: the transports take no new requests, and the running calls get the grace period
(`CHUTES_MCP_SHUTDOWN_GRACE_S`) to finish. Calls still running then are ended, and each answers with
the `shutdown` error (retryable), which carries the text its answer had streamed so far, instead of
being cancelled without an answer. A second stop request during the drain ends them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio

from chutes_mcp.log import get_logger

log = get_logger(__name__)

# How long the calls that were ended get to hand their results over (closing an upstream stream,
# writing the answer). A stopping server lasts at most the grace period plus this, plus
# `CLOSING_S` for its connections.
ENDING_S = 2.0
# How long an HTTP server, its calls answered, waits for its responses to be written out before it
# closes the connections that are left.
CLOSING_S = 3
# How often a drain looks at what is still under way: the stdio transport counts its requests in a
# relay thread, which cannot wake the event loop; a stop is rare, so looking is cheap enough.
_POLL_S = 0.05


class RunningCall:
    """One tool call: what its answer has streamed so far, and whether the stop ended it."""

    def __init__(self) -> None:
        self.scope = anyio.CancelScope()
        self.pieces: list[str] = []
        self.ended = False

    def hear(self, piece: str) -> None:
        self.pieces.append(piece)

    @property
    def partial_text(self) -> str:
        return "".join(self.pieces)

    def end(self) -> None:
        self.ended = True
        self.scope.cancel()


class Shutdown:
    """The tool calls of one server, and its stop."""

    def __init__(self) -> None:
        self._calls: set[RunningCall] = set()
        self._draining = False
        self._ending = False
        self._cut = False

    @property
    def draining(self) -> bool:
        """A stop has begun: the server takes no new requests."""
        return self._draining

    @property
    def running(self) -> int:
        return len(self._calls)

    @contextmanager
    def call(self) -> Iterator[RunningCall]:
        """Run one tool call; once the stop ends it, `ended` is set and its cancellation stops here."""
        running = RunningCall()
        if self._ending:
            # Past the grace period nothing new may start: it would outlive the process.
            running.end()
        self._calls.add(running)
        try:
            with running.scope:
                yield running
        finally:
            self._calls.discard(running)

    def cut(self) -> None:
        """A second stop request: end the running calls now instead of at the end of the grace period."""
        self._draining = True
        self._cut = True

    async def drain(self, grace_s: float, pending: Callable[[], int]) -> None:
        """Let the requests under way finish for `grace_s` at most, then end the tool calls still
        running and wait (`ENDING_S` at most) for their answers.

        `pending`: how many requests the transport has under way, tool calls among them; a request read
        before the stop may not have reached its tool yet.
        """
        self._draining = True
        if pending() or self._calls:
            log.warning(
                "stopping: waiting for the requests under way",
                requests=pending(),
                grace_s=grace_s,
                detail="a second SIGTERM or Ctrl-C ends them now",
            )
        with anyio.move_on_after(grace_s):
            while (self._calls or pending()) and not self._cut:  # noqa: ASYNC110 - see _POLL_S
                await anyio.sleep(_POLL_S)
        self._ending = True
        if self._calls:
            log.warning("stopping: ending the calls still running", calls=len(self._calls))
            for running in list(self._calls):
                running.end()
        with anyio.move_on_after(ENDING_S):
            while self._calls:  # noqa: ASYNC110 - see _POLL_S
                await anyio.sleep(_POLL_S)
