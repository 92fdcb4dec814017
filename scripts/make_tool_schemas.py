"""Regenerate `chutes_mcp/server/tool_schemas.json`, what `tools/list` says about each tool.

The server publishes these in `tools/list` without deriving them at start (see
`chutes_mcp.server.tool_schemas`). Run this after changing a tool's declaration or its models, from the
repository root with chutes-mcp installed (`pip install -e .`):

    python scripts/make_tool_schemas.py
"""

from __future__ import annotations

from pathlib import Path

from chutes_mcp.server.derive_tool_schemas import derive_all, render
from chutes_mcp.server.tool_schemas import SCHEMA_FILE

TARGET = Path(__file__).resolve().parents[1] / "chutes_mcp" / "server" / SCHEMA_FILE

if __name__ == "__main__":
    TARGET.write_text(render(derive_all()), encoding="utf-8")
    print(f"wrote {TARGET}")
