"""A TCP relay in front of the simulator that notes when each chat answer's first token goes by
(`python -m benchmarks.tap --upstream URL --log FILE`).

The simulator keeps no per-stream timestamps, so the moment it sends the first token is taken here,
one loopback hop downstream of it: the time the relay reads the bytes of the first chunk that carries
text, before it forwards them. Each prompt carries a marker (`bench-<n>`); for every answer the relay
appends `<n> <request seen ns> <first token seen ns>` to the log, on CLOCK_MONOTONIC, which the other
processes of the run read too. The log is read once a section is over, never while it is timed.

Bytes are forwarded as they come, unparsed: the relay costs one extra loopback hop (tens of µs) to
whoever stands behind it, the MCP servers and the direct client alike.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from benchmarks.measure import mono_ns
from benchmarks.processes import Spawned, spawn

MARKER = "bench-{}"
_MARKER = re.compile(rb"bench-(\d+)")
# The first chunk whose delta carries text (answer or reasoning); the role chunk's content is "".
_FIRST_TOKEN = re.compile(rb'"delta":\{"(?:content|reasoning_content|reasoning)":"[^"]')
_READY = re.compile(r"benchmarks tap: listening on (http://\S+)")
# Enough of the previous read to find a pattern that a read boundary cut in two.
_OVERLAP = 64


@dataclass(frozen=True)
class Mark:
    request_ns: int
    first_token_ns: int


@contextmanager
def tap(upstream: str, log: Path) -> Iterator[Spawned]:
    command = [sys.executable, "-m", "benchmarks.tap", "--upstream", upstream, "--log", str(log)]
    with spawn(command, _READY) as relay:
        yield relay


def read_marks(log: Path) -> dict[int, Mark]:
    marks: dict[int, Mark] = {}
    for line in log.read_text().splitlines():
        number, request_ns, first_ns = (int(field) for field in line.split())
        marks[number] = Mark(request_ns, first_ns)
    return marks


# -- the process ---------------------------------------------------------------------------------


class _Exchange:
    """One client connection: which marked request is waiting for its first token."""

    def __init__(self, log: IO[str]) -> None:
        self._log = log
        self._waiting: tuple[bytes, int] | None = None

    def request_bytes(self, seen_ns: int, tail: bytes, data: bytes) -> None:
        found = _new_match(_MARKER, tail, data)
        if found:
            self._waiting = (found.group(1), seen_ns)

    def answer_bytes(self, seen_ns: int, tail: bytes, data: bytes) -> None:
        if self._waiting is not None and _new_match(_FIRST_TOKEN, tail, data):
            number, request_ns = self._waiting
            self._waiting = None
            self._log.write(f"{number.decode()} {request_ns} {seen_ns}\n")
            self._log.flush()


def _new_match(pattern: re.Pattern[bytes], tail: bytes, data: bytes) -> re.Match[bytes] | None:
    """The last match in `tail + data` that is not wholly inside `tail` (the previous read's end,
    already searched)."""
    fresh = [match for match in pattern.finditer(tail + data) if match.end() > len(tail)]
    return fresh[-1] if fresh else None


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, note: Callable[[int, bytes, bytes], None]
) -> None:
    tail = b""
    try:
        while data := await reader.read(65536):
            seen = mono_ns()
            writer.write(data)
            note(seen, tail, data)
            tail = data[-_OVERLAP:]
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def _relay(
    host: str, port: int, log: IO[str], client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
) -> None:
    upstream_r, upstream_w = await asyncio.open_connection(host, port)
    exchange = _Exchange(log)
    await asyncio.gather(
        _pump(client_r, upstream_w, exchange.request_bytes),
        _pump(upstream_r, client_w, exchange.answer_bytes),
    )


async def _main(upstream: str, log: IO[str]) -> None:
    target = urlsplit(upstream)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    server = await asyncio.start_server(lambda r, w: _relay(host, port, log, r, w), "127.0.0.1", 0)
    bound = server.sockets[0].getsockname()[1]
    sys.stderr.write(f"benchmarks tap: listening on http://127.0.0.1:{bound}\n")
    sys.stderr.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tap")
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    with open(args.log, "a") as log_file:
        asyncio.run(_main(args.upstream, log_file))
