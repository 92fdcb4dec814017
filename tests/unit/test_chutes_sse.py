from __future__ import annotations

import pytest

from chutes_mcp.chutes.sse import DONE, LineSplitter, MalformedStreamError, SSEItem, SSEParser


def parse(text: str) -> list[SSEItem]:
    parser = SSEParser()
    items: list[SSEItem] = []
    for line in text.split("\n"):
        items.extend(parser.feed(line))
    items.extend(parser.close())
    return items


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


@pytest.mark.parametrize("stream", ["data: {not json\n\n", "data: [1,2]\n\n"])
def test_malformed_events_raise(stream: str) -> None:
    with pytest.raises(MalformedStreamError):
        parse(stream)


@pytest.mark.parametrize(
    ("pieces", "lines"),
    [
        (["data: 1\n\ndata: 2\n"], ["data: 1", "", "data: 2"]),
        (["da", "ta: 1\r\n", "data: 2"], ["data: 1", "data: 2"]),
        (["data: 1\r", "\ndata: 2\r\n"], ["data: 1", "", "data: 2"]),
        (['data: {"t": "a\u2028b"}\n'], ['data: {"t": "a\u2028b"}']),
        (["", "x"], ["x"]),
    ],
)
def test_line_splitter(pieces: list[str], lines: list[str]) -> None:
    splitter = LineSplitter()
    out = [line for piece in pieces for line in splitter.feed(piece)]
    assert out + splitter.close() == lines
