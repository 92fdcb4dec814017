"""The input schema the SDK's `Mcp-Param-*` header check gets for each tool: only what it reads.

Over streamable HTTP the SDK checks every `tools/call` against the `x-mcp-header` annotations of the
tool's input schema, and finds them by walking the whole schema, twice, on every request: ~150 µs for
`chat`, whose schema has 129 schema positions. That check reads nothing but the annotations. A tool
whose schema has none is therefore checked against an empty object schema: the same verdict (no header
to compare) without the walk. A tool that has annotations keeps its whole schema, so its headers are
checked as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.inbound import X_MCP_HEADER_KEY

SchemaLookup = Callable[[str], Mapping[str, Any] | None]

_NO_ANNOTATIONS: Mapping[str, Any] = {"type": "object"}


def annotates_headers(node: Any) -> bool:
    """Whether `x-mcp-header` appears anywhere in a JSON Schema."""
    if isinstance(node, Mapping):
        return X_MCP_HEADER_KEY in node or any(annotates_headers(value) for value in node.values())
    if isinstance(node, list):
        return any(annotates_headers(item) for item in node)
    return False


def header_check_lookup(tool_schema: SchemaLookup) -> SchemaLookup:
    """`tool_schema` narrowed to what the header check needs, worked out once per schema object."""
    narrowed: dict[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {}

    def lookup(name: str) -> Mapping[str, Any] | None:
        schema = tool_schema(name)
        if schema is None:
            return None
        known = narrowed.get(name)
        if known is None or known[0] is not schema:
            known = (schema, schema if annotates_headers(schema) else _NO_ANNOTATIONS)
            narrowed[name] = known
        return known[1]

    return lookup


def narrow_header_checks(server: MCPServer[Any]) -> None:
    # MCPServer hands its low-level server the tool lookup at construction and has no setter for it.
    lowlevel = server._lowlevel_server
    if lowlevel.get_tool_input_schema is not None:
        lowlevel.get_tool_input_schema = header_check_lookup(lowlevel.get_tool_input_schema)
