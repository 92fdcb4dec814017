"""A tolerant decoder for Chutes' server-sent event streams, fed the body's bytes as they arrive.

Hand-written rather than taken from an SSE library on purpose: after content has started, Chutes ends
a failing stream with one bare JSON line such as `{"error": "..."}` with no `data:` prefix and no
`[DONE]`. Standard SSE parsers drop lines that are not `field: value`, which would turn that error
into a silently truncated answer. This decoder hands such a line over as a payload like any other.

It works on bytes, not text: SSE is UTF-8 by definition and `json.loads` reads UTF-8 bytes itself, so
decoding the body to text first (and looking up its charset) would only be paid twice per chunk.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

# SSE ends lines with CRLF, LF or CR, and nothing else. On bytes these are never part of a multi-byte
# UTF-8 character, and characters such as U+2028 (which JSON may carry unescaped) are not split on.
_END_OF_LINE = re.compile(rb"\r\n|\r|\n")
_DONE_DATA = b"[DONE]"


class DoneMarker:
    def __repr__(self) -> str:
        return "DONE"


DONE: Final = DoneMarker()
"""The `data: [DONE]` sentinel that ends a complete OpenAI-style stream."""

SSEItem = dict[str, Any] | DoneMarker


class MalformedStreamError(ValueError):
    """An event's data was neither JSON nor `[DONE]`."""


def _decode(data: bytes) -> SSEItem:
    if data.strip() == _DONE_DATA:
        return DONE
    try:
        value = json.loads(data)
    except ValueError:  # UnicodeDecodeError included
        raise MalformedStreamError(f"stream event is not JSON: {data[:80]!r}") from None
    if not isinstance(value, dict):
        raise MalformedStreamError(f"stream event is not a JSON object: {data[:80]!r}")
    return value


class SSEDecoder:
    """Feed the body in pieces of any size; get back JSON objects and `DONE`, in order."""

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[bytes] = []

    def feed(self, piece: bytes) -> list[SSEItem]:
        buffer = self._pending + piece
        # A CR that ends a piece may be the first half of a CRLF: it stays pending with its line, or
        # the LF arriving next would read as a blank line and dispatch a half-received event.
        held = b"\r" if buffer.endswith(b"\r") else b""
        lines = _END_OF_LINE.split(buffer[: len(buffer) - len(held)])
        self._pending = lines.pop() + held
        items: list[SSEItem] = []
        for line in lines:
            self._line(line, items)
        return items

    def close(self) -> list[SSEItem]:
        """The body ended: its last line(s), and a last event that was not followed by a blank line."""
        items: list[SSEItem] = []
        rest, self._pending = self._pending, b""
        for line in _END_OF_LINE.split(rest) if rest else ():
            self._line(line, items)
        self._dispatch(items)
        return items

    def _line(self, line: bytes, items: list[SSEItem]) -> None:
        if not line:
            self._dispatch(items)
        elif line.startswith(b"data:"):
            value = line[5:]
            self._data.append(value[1:] if value.startswith(b" ") else value)
        elif line.lstrip().startswith((b"{", b"[")):
            # The bare JSON line Chutes writes on a mid-stream failure (see the module docstring).
            self._dispatch(items)
            items.append(_decode(line))
        # Anything else is a comment (`:`), an `event:`/`id:`/`retry:` field, or noise: ignored.

    def _dispatch(self, items: list[SSEItem]) -> None:
        if self._data:
            data = self._data[0] if len(self._data) == 1 else b"\n".join(self._data)
            self._data = []
            items.append(_decode(data))
