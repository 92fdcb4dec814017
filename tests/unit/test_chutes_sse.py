from __future__ import annotations

import pytest

from chutes_mcp.chutes.http.sse import DONE, MalformedStreamError, SSEDecoder, SSEItem


def decode(pieces: list[bytes]) -> list[SSEItem]:
    decoder = SSEDecoder()
    items = [item for piece in pieces for item in decoder.feed(piece)]
    return items + decoder.close()


def parse(text: str) -> list[SSEItem]:
    return decode([text.encode()])


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        ('data: {"a":1}\n\ndata: [DONE]\n\n', [{"a": 1}, DONE]),
        ('data:{"a":1}\r\n\r\n', [{"a": 1}]),
        (': keep-alive\nevent: message\nid: 3\ndata: {"a":1}\n\n', [{"a": 1}]),
        ('data: {"a":\ndata: 1}\n\n', [{"a": 1}]),
        (
            'data: {"a":1}\n\n{"error": "Unhandled exception during response stream: x"}',
            [{"a": 1}, {"error": "Unhandled exception during response stream: x"}],
        ),
        ('data: {"a":1}\n{"error":"x"}\n', [{"a": 1}, {"error": "x"}]),
        ("data: [DONE]", [DONE]),
        ("", []),
    ],
    ids=[
        "plain",
        "crlf-no-space",
        "comments-and-fields",
        "multi-line-data",
        "bare-error-at-eof",
        "bare-error-no-blank",
        "done-no-blank",
        "empty",
    ],
)
def test_parser_yields_payloads_in_order(stream: str, expected: list[SSEItem]) -> None:
    assert parse(stream) == expected


@pytest.mark.parametrize("stream", [b"data: {not json\n\n", b"data: [1,2]\n\n", b'data: {"t": "\xff"}\n\n'])
def test_malformed_events_raise(stream: bytes) -> None:
    with pytest.raises(MalformedStreamError):
        decode([stream])


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        ([b'data: {"n": 1}\n\ndata: {"n": 2}\n'], [{"n": 1}, {"n": 2}]),
        ([b"da", b'ta: {"n"', b": 1}\r\n", b"\r\n", b'data: {"n": 2}'], [{"n": 1}, {"n": 2}]),
        # The CR ending the first piece is half of a CRLF, not a line end plus a blank line.
        ([b'data: {"n":\r', b"\ndata: 1}\r\n\r\n"], [{"n": 1}]),
        ([b'data: {"n": 1}\r', b"\r"], [{"n": 1}]),
        ([b'data: {"t": "a\xe2\x80\xa8b"}\n\n'], [{"t": "a\u2028b"}]),
        ([b'data: {"t": "\xc3', b'\xa9"}\n\n'], [{"t": "\u00e9"}]),
        ([b"", b"data: [DONE]\n"], [DONE]),
    ],
    ids=["lf", "split-anywhere", "split-crlf", "lone-cr-at-end", "u2028-kept", "split-utf8", "empty-piece"],
)
def test_pieces_of_any_size(pieces: list[bytes], expected: list[SSEItem]) -> None:
    assert decode(pieces) == expected
