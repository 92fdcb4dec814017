"""Embedding vectors as little-endian float32 bytes, the layout of OpenAI's `encoding_format: base64`.

Chutes' embedding engines (vLLM and Text-Embeddings-Inference) compute in float32 or less, so float32
loses nothing of what they return, and a caller decodes it the OpenAI way:
`numpy.frombuffer(base64.b64decode(s), dtype="<f4")`.
"""

from __future__ import annotations

import base64
import binascii
import math
import sys
from array import array
from collections.abc import Sequence
from typing import Any

BYTES_PER_VALUE = 4


def from_wire(embedding: Any) -> bytes:
    """One `data[].embedding` as float32 bytes: a base64 string, or a list of numbers from an engine
    that answers `float` whatever it was asked. ValueError when it is neither."""
    if isinstance(embedding, str):
        try:
            raw = base64.b64decode(embedding, validate=True)
        except binascii.Error:
            raise ValueError("an embedding is not valid base64") from None
        if not raw or len(raw) % BYTES_PER_VALUE:
            raise ValueError(f"a base64 embedding of {len(raw)} bytes is not float32 values")
        return raw
    if isinstance(embedding, list) and embedding and all(_is_number(x) for x in embedding):
        return to_bytes([float(x) for x in embedding])
    raise ValueError("an embedding is neither a base64 string nor a list of numbers")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def to_bytes(values: Sequence[float]) -> bytes:
    packed = array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def dimensions(vector: bytes) -> int:
    return len(vector) // BYTES_PER_VALUE


def to_floats(vector: bytes) -> list[float]:
    values = array("f")
    values.frombytes(vector)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def to_base64(vector: bytes) -> str:
    return base64.b64encode(vector).decode("ascii")
