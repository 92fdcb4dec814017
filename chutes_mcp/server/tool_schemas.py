"""What `tools/list` says about each tool, derived ahead of time and shipped in `tool_schemas.json`.

Deriving the schemas at start (an argument model per tool built by the SDK, then pydantic writing both
schemas) was ~23 ms, and importing the tool modules that declare them, with the Chutes domain behind
them, most of the rest of what the server spends on its own before it can answer `tools/list`. All of
it depends only on the code, so it is derived by `derive_tool_schemas`, written once, and read at
start; the tool modules are imported after the handshake (`runtime_slot`). After changing a tool's
declaration, argument model or result model, regenerate the file:

    python scripts/make_tool_schemas.py

A test fails, naming this command, whenever the file and the tools disagree.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, TypedDict

SCHEMA_FILE = "tool_schemas.json"
REGENERATE = "python scripts/make_tool_schemas.py"


class ShippedTool(TypedDict):
    title: str
    description: str
    annotations: dict[str, Any]
    input: dict[str, Any]
    output: dict[str, Any] | None


# In the order clients list them.
ShippedTools = dict[str, ShippedTool]


@cache
def shipped() -> ShippedTools:
    """The tools in the file, read once per process."""
    # Beside this module: the package is always installed as files (`importlib.resources` would cost
    # an import of its readers before the first answer, for the same path).
    text = Path(__file__).with_name(SCHEMA_FILE).read_text("utf-8")
    tools: ShippedTools = json.loads(text)
    return tools
