"""Output for a person at a terminal: a status line while waiting, aligned tables, dim footnotes.

Hand-written rather than `rich`: the few things needed here are a spinner and plain tables, and with
`rich` installed the MCP SDK imports it (for its own log handler) every time a server is built, which
would slow every `serve` start by the same ~30 ms as well, terminal or not.

Only what goes to a terminal is shaped here; piped output stays the plain JSON scripts rely on.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import time
from collections.abc import Sequence
from typing import TextIO

import anyio

_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_FRAME_S = 0.1
_ELLIPSIS = "…"
_MIN_COLUMN = 8


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def colour_allowed(stream: TextIO) -> bool:
    """The conventions every terminal tool follows: NO_COLOR (no-color.org) and TERM=dumb say no."""
    # Terminal conventions, not chutes-mcp settings: read where they apply, as every CLI does.
    return is_terminal(stream) and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def dim(text: str, stream: TextIO) -> str:
    return f"\x1b[2m{text}\x1b[0m" if colour_allowed(stream) else text


def bold(text: str, stream: TextIO) -> str:
    return f"\x1b[1m{text}\x1b[0m" if colour_allowed(stream) else text


def width(stream: TextIO) -> int:
    return shutil.get_terminal_size((100, 24)).columns if is_terminal(stream) else 10_000


class Status:
    """A one-line spinner on stderr (when it is a terminal): what the command waits for, and for how long.

    `run` animates it until `stop`; `stop` clears the line so what follows starts clean.
    """

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self._stream = stream or sys.stderr
        self._started = time.monotonic()
        self._stopped = anyio.Event()
        self._shown = False
        self.enabled = is_terminal(self._stream)

    async def run(self) -> None:
        if not self.enabled:
            return
        for frame in itertools.cycle(_FRAMES):
            if self._stopped.is_set():
                return
            elapsed = time.monotonic() - self._started
            line = f"{frame} {self.label} · {elapsed:.1f} s"
            limit = width(self._stream) - 1
            if len(line) > limit:
                line = line[: max(limit - 1, 0)] + _ELLIPSIS
            self._stream.write(f"\r{dim(line, self._stream)}\x1b[K")
            self._stream.flush()
            self._shown = True
            with anyio.move_on_after(_FRAME_S):
                await self._stopped.wait()

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _clip(cell: str, size: int) -> str:
    return cell if len(cell) <= size else cell[: max(size - 1, 0)] + _ELLIPSIS


def table(header: Sequence[str], rows: Sequence[Sequence[str]], stream: TextIO) -> str:
    """Left-aligned columns two spaces apart; on a terminal, the widest columns but the first (the
    name a reader looks for) are clipped, with …, until a row fits its width."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    room = width(stream) - 2 * (len(widths) - 1)
    while sum(widths) > room:
        clippable = [i for i in range(1, len(widths)) if widths[i] > _MIN_COLUMN] or [0]
        widest = max(clippable, key=widths.__getitem__)
        if widths[widest] <= _MIN_COLUMN:
            break
        widths[widest] -= 1
    lines = [
        "  ".join(_clip(cell, size).ljust(size) for cell, size in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines[0] = bold(lines[0], stream)
    return "\n".join(lines) + "\n"
