"""A valid, deterministic instance of a (simple) JSON schema, as a constrained decoder would emit.

Covered: `type` (one or a list; the first non-null wins), objects with `properties` (all of them are
filled, `required` or not), strings (incl. `enum`, `const`, `minLength`/`maxLength` and the common
`format`s), integers and numbers within `minimum`/`maximum`/`exclusive*`, booleans, null, arrays with
`items` and `minItems`/`maxItems`, `anyOf`/`oneOf`/`allOf` (first branch) and `$ref` into `$defs` or
`definitions`. `pattern` is never honoured: the real API refuses it in `response_format` (reference §3.1).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

_WORDS = ("alpha", "bravo", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper")
_FORMATS = {
    "date": "2026-02-18",
    "date-time": "2026-02-18T12:00:00Z",
    "time": "12:00:00",
    "email": "sim@example.com",
    "uri": "https://example.com/sim",
    "url": "https://example.com/sim",
    "uuid": "0d7184a2-32a3-53e0-9607-058c37edaab5",
    "ipv4": "192.0.2.1",
    "hostname": "example.com",
}
# Self-referencing schemas (a tree node holding nodes) must end somewhere.
_MAX_DEPTH = 6


def instance(schema: Any, rng: random.Random) -> Any:
    """A JSON value valid against `schema`, drawn from `rng` so the same seed gives the same value."""
    root = schema if isinstance(schema, Mapping) else {}
    return _Builder(root, rng).build(root, 0)


def has_key(schema: Any, key: str) -> bool:
    """Whether `key` appears anywhere in the schema tree (the real check is a recursive key search)."""
    if isinstance(schema, Mapping):
        return key in schema or any(has_key(value, key) for value in schema.values())
    if isinstance(schema, list):
        return any(has_key(item, key) for item in schema)
    return False


class _Builder:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self._root = root
        self._rng = rng

    def build(self, schema: Any, depth: int) -> Any:
        if not isinstance(schema, Mapping):
            return self._word()
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._rng.choice(schema["enum"])
        for combinator in ("anyOf", "oneOf", "allOf"):
            branches = schema.get(combinator)
            if isinstance(branches, list) and branches:
                return self.build(self._first_useful(branches), depth)
        kind = _type_of(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, depth)
        if kind == "integer":
            return self._integer(schema)
        if kind == "number":
            return self._number(schema)
        if kind == "boolean":
            return self._rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema)

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < _MAX_DEPTH:
            target: Any = self._root
            for part in schema["$ref"].removeprefix("#").strip("/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) and part else target
            schema = target if isinstance(target, Mapping) else {}
            seen += 1
        return schema

    def _first_useful(self, branches: Sequence[Any]) -> Any:
        # `anyOf: [{"type": "null"}, X]` is how Pydantic spells Optional[X]; X is the informative branch.
        for branch in branches:
            if not (isinstance(branch, Mapping) and branch.get("type") == "null"):
                return branch
        return branches[0]

    def _object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        if depth >= _MAX_DEPTH:
            required = schema.get("required") or []
            properties = {name: properties[name] for name in required if name in properties}
        return {name: self.build(sub, depth + 1) for name, sub in properties.items()}

    def _array(self, schema: Mapping[str, Any], depth: int) -> list[Any]:
        low = _int(schema.get("minItems"), 0)
        high = _int(schema.get("maxItems"), low + 3)
        count = low
        if depth < _MAX_DEPTH:
            start = min(max(low, 1), high)
            count = self._rng.randint(start, max(start, min(high, start + 2)))
        return [self.build(schema.get("items", {}), depth + 1) for _ in range(count)]

    def _bounds(self, schema: Mapping[str, Any], step: float) -> tuple[float, float]:
        low = schema.get("minimum", -math.inf)
        high = schema.get("maximum", math.inf)
        if "exclusiveMinimum" in schema:
            low = max(low, schema["exclusiveMinimum"] + step)
        if "exclusiveMaximum" in schema:
            high = min(high, schema["exclusiveMaximum"] - step)
        if math.isinf(low) and math.isinf(high):
            return 0, 100
        if math.isinf(low):
            return high - 100, high
        if math.isinf(high):
            return low, low + 100
        return low, max(low, high)

    def _integer(self, schema: Mapping[str, Any]) -> int:
        low, high = self._bounds(schema, 1)
        return self._rng.randint(math.ceil(low), max(math.ceil(low), math.floor(high)))

    def _number(self, schema: Mapping[str, Any]) -> float:
        low, high = self._bounds(schema, 0.01)
        value = round(self._rng.uniform(low, high), 2)
        return min(max(value, low), high)

    def _string(self, schema: Mapping[str, Any]) -> str:
        text = _FORMATS.get(str(schema.get("format")))
        if text is None:
            text = " ".join(self._word() for _ in range(self._rng.randint(1, 3)))
        low = _int(schema.get("minLength"), 0)
        high = _int(schema.get("maxLength"), max(low, len(text)))
        while len(text) < low:
            text += " " + self._word()
        return text[:high]

    def _word(self) -> str:
        return self._rng.choice(_WORDS)


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
