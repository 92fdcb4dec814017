from __future__ import annotations

from typing import Any

import pytest

from chutes_mcp.server import tools
from chutes_mcp.server.derive_tool_schemas import derive
from chutes_mcp.server.tool_schemas import REGENERATE, shipped


def test_every_tool_ships_its_schemas_and_nothing_else() -> None:
    assert list(shipped()) == [spec.name for spec in tools.ALL], f"out of date: run {REGENERATE}"


@pytest.mark.parametrize("spec", tools.ALL, ids=lambda spec: spec.name)
def test_the_shipped_schemas_are_the_ones_the_models_give(spec: tools.ToolSpec[Any, Any]) -> None:
    assert shipped()[spec.name] == derive(spec), f"{spec.name}'s schemas are out of date: run {REGENERATE}"
