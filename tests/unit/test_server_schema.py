from __future__ import annotations

import json
from typing import Any, Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from chutes_mcp.server import tools
from chutes_mcp.server.schema import compact_schema


class Inner(BaseModel):
    count: int
    label: str | None = None


class Outer(BaseModel):
    inner: Inner | None
    items: list[Inner]
    mode: Literal["a", "b"] | None
    score: float | None


class Node(BaseModel):
    children: list[Node]


DOCUMENTS: list[Any] = [
    {"inner": None, "items": [], "mode": None, "score": None},
    {"inner": {"count": 1, "label": "x"}, "items": [{"count": 2}], "mode": "a", "score": 1.5},
    {"inner": {"count": "1"}, "items": [], "mode": None, "score": None},
    {"inner": None, "items": [{"count": None}], "mode": None, "score": None},
    {"inner": None, "items": [], "mode": "c", "score": None},
    {"inner": None, "items": [], "mode": None, "score": "high"},
    {"inner": {"label": None}, "items": [], "mode": None, "score": None},
    {"items": [], "mode": None, "score": None},
    None,
]


@pytest.mark.parametrize("document", DOCUMENTS, ids=range(len(DOCUMENTS)))
def test_compact_form_accepts_the_same_documents(document: Any) -> None:
    original = Outer.model_json_schema()
    compact = compact_schema(original)
    assert Draft202012Validator(compact).is_valid(document) == Draft202012Validator(original).is_valid(
        document
    )


def test_refs_are_inlined_and_nullables_folded() -> None:
    compact = compact_schema(Outer.model_json_schema())
    text = json.dumps(compact)
    assert "$ref" not in text
    assert "$defs" not in text
    assert compact["properties"]["score"]["type"] == ["number", "null"]
    assert compact["properties"]["inner"]["type"] == ["object", "null"]
    # An enum says what null is not: that nullable stays an anyOf.
    assert "anyOf" in compact["properties"]["mode"]


def test_a_recursive_schema_is_left_alone() -> None:
    original = Node.model_json_schema()
    assert compact_schema(original) == original


@pytest.mark.parametrize("spec", tools.ALL, ids=lambda spec: spec.name)
def test_every_tool_output_schema_compacts_fully(spec: tools.ToolSpec[Any, Any]) -> None:
    compact = compact_schema(spec.output.model_json_schema())
    Draft202012Validator.check_schema(compact)
    assert "$ref" not in json.dumps(compact)
