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
    if not data.startswith(b"{") and data.strip() == _DONE_DATA:
        return DONE
    try:
        # Decoded here rather than by `json.loads`, whose bytes path first guesses the encoding in Python.
        value = json.loads(data.decode())
    except (ValueError, RecursionError):  # UnicodeDecodeError included; RecursionError: nested too deep
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
        buffer = self._pending + piece if self._pending else piece
        if b"\r" in buffer:
            # A CR that ends a piece may be the first half of a CRLF: it stays pending with its line, or
            # the LF arriving next would read as a blank line and dispatch a half-received event.
            held = b"\r" if buffer.endswith(b"\r") else b""
            lines = _END_OF_LINE.split(buffer[: len(buffer) - len(held)])
        else:  # Chutes ends its lines with LF alone: no regular expression needed
            held = b""
            lines = buffer.split(b"\n")
        self._pending = lines.pop() + held
        return self._items(lines)

    def close(self) -> list[SSEItem]:
        """The body ended: its last line(s), and a last event that was not followed by a blank line."""
        rest, self._pending = self._pending, b""
        items = self._items(_END_OF_LINE.split(rest)) if rest else []
        self._dispatch(items)
        return items

    def _items(self, lines: list[bytes]) -> list[SSEItem]:
        # One loop over the lines, not a method call per line: this runs for every token of every answer.
        items: list[SSEItem] = []
        data = self._data
        for line in lines:
            if not line:
                self._dispatch(items)
            elif line.startswith(b"data:"):
                data.append(line[6:] if line.startswith(b" ", 5) else line[5:])
            elif line.lstrip().startswith((b"{", b"[")):
                # The bare JSON line Chutes writes on a mid-stream failure (see the module docstring).
                self._dispatch(items)
                items.append(_decode(line))
            # Anything else is a comment (`:`), an `event:`/`id:`/`retry:` field, or noise: ignored.
        return items

    def _dispatch(self, items: list[SSEItem]) -> None:
        data = self._data
        if data:
            items.append(_decode(data[0] if len(data) == 1 else b"\n".join(data)))
            data.clear()
