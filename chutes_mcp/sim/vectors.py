"""Stand-in embedding vectors: deterministic, unit length, each model's own dimension, and a little meaning.

A vector is a direction of its own, seeded from (seed, model, text), blended with directions of the
text's words. Texts that share words therefore point in similar directions, so similarity search over
the simulator ranks related texts first, while equal inputs still give equal vectors.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import re
import struct
from collections import defaultdict

_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SPECIAL_TOKENS = 2
_FEATURES_PER_WORD = 4
# Weights of the text's own direction and of its words' (squares sum to 1): two texts with the same
# words end up at cosine 0.64, unrelated texts near 0.
_TEXT_WEIGHT = 0.6
_WORDS_WEIGHT = 0.8


def count_tokens(text: str) -> int:
    """A tokenizer-free estimate: words and punctuation marks, plus the engine's start and end tokens."""
    return len(_TOKEN.findall(text)) + _SPECIAL_TOKENS


def embed(text: str, *, model: str, dimension: int, seed: int) -> list[float]:
    rng = random.Random(f"{seed}\0{model}\0{text}")
    own = _unit([rng.gauss(0.0, 1.0) for _ in range(dimension)])
    vector = [_TEXT_WEIGHT * x for x in own]
    words = _word_directions(text, model=model, dimension=dimension, seed=seed)
    norm = math.sqrt(sum(v * v for v in words.values()))
    for index, value in words.items():
        vector[index] += _WORDS_WEIGHT * value / norm
    return _unit(vector)


def shorten(vector: list[float], dimensions: int) -> list[float]:
    """Matryoshka truncation: keep the leading components, then back to unit length."""
    return _unit(vector[:dimensions])


def to_base64(vector: list[float]) -> str:
    """`encoding_format: base64` as vLLM and OpenAI send it: little-endian float32 bytes."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _word_directions(text: str, *, model: str, dimension: int, seed: int) -> dict[int, float]:
    # A sparse random projection of the bag of words: each word adds ±1 on a few hashed components.
    features: defaultdict[int, float] = defaultdict(float)
    for word in _WORD.findall(text.lower()):
        digest = hashlib.blake2b(
            f"{seed}\0{model}\0{word}".encode(), digest_size=8 * _FEATURES_PER_WORD
        ).digest()
        for offset in range(0, len(digest), 8):
            value = int.from_bytes(digest[offset : offset + 8], "little")
            features[value % dimension] += 1.0 if value >> 63 else -1.0
    return {index: value for index, value in features.items() if value}


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else vector
