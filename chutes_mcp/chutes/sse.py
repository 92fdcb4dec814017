"""A tolerant parser for Chutes' server-sent event streams.

Hand-written rather than taken from an SSE library on purpose: after content has started, Chutes ends
a failing stream with one bare JSON line such as `{"error": "..."}` with no `data:` prefix and no
`[DONE]`. Standard SSE parsers drop lines that are not `field: value`, which would turn that error
into a silently truncated answer. This parser hands such a line over as a payload like any other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

# SSE ends lines with CRLF, LF or CR, and nothing else: str.splitlines would also split on characters
# such as U+2028 that JSON may carry unescaped inside a string.
_END_OF_LINE = re.compile(r"\r\n|\r|\n")


class DoneMarker:
    def __repr__(self) -> str:
        return "DONE"


DONE: Final = DoneMarker()
"""The `data: [DONE]` sentinel that ends a complete OpenAI-style stream."""

SSEItem = dict[str, Any] | DoneMarker


class MalformedStreamError(ValueError):
    """An event's data was neither JSON nor `[DONE]`."""


class LineSplitter:
    """Turns the text of a body, as it arrives in pieces, into lines."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        # A CR at the end of a piece may be half of a CRLF; splitting there at worst adds an empty line,
        # which the parser ignores.
        lines = _END_OF_LINE.split(self._pending + text)
        self._pending = lines.pop()
        return lines

    def close(self) -> list[str]:
        rest, self._pending = self._pending, ""
        return [rest] if rest else []


def _decode(data: str) -> SSEItem:
    if data.strip() == "[DONE]":
        return DONE
    try:
        value = json.loads(data)
    except ValueError:
        raise MalformedStreamError(f"stream event is not JSON: {data[:80]!r}") from None
    if not isinstance(value, dict):
        raise MalformedStreamError(f"stream event is not a JSON object: {data[:80]!r}")
    return value


class SSEParser:
    """Feed lines (without their line endings); get back JSON objects and `DONE`, in order."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> Iterator[SSEItem]:
        line = line.rstrip("\r\n")
        if not line:
            yield from self._dispatch()
        elif line.startswith("data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(" ") else value)
        elif line.lstrip().startswith(("{", "[")):
            # The bare JSON line Chutes writes on a mid-stream failure (see the module docstring).
            yield from self._dispatch()
            yield _decode(line)
        # Anything else is a comment (`:`), an `event:`/`id:`/`retry:` field, or noise: ignored.

    def close(self) -> Iterator[SSEItem]:
        """Flush a last event that was not followed by a blank line."""
        yield from self._dispatch()

    def _dispatch(self) -> Iterator[SSEItem]:
        if self._data:
            data = "\n".join(self._data)
            self._data = []
            yield _decode(data)
