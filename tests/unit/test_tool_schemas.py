"""Every tool's input schema keeps to the JSON Schema keywords that hosts' translators read.

google-genai's `Schema.from_json_schema` refuses `examples`, `const`, exclusive bounds and OpenAPI's
`discriminator`, and drops `oneOf`; its MCP support fails on a boolean `additionalProperties`. The
argument models say the same things portably (see `chutes_mcp/server/toolkit.py`). The translators themselves judge the schemas in
tests/test_tool_schema_portability.py; this is the quick check, on the schemas the server builds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest

from chutes_mcp.config import load_settings
from chutes_mcp.server import create_server

UNPORTABLE = frozenset(
    {"examples", "const", "exclusiveMinimum", "exclusiveMaximum", "discriminator", "oneOf"}
)


def _input_schemas() -> dict[str, dict[str, Any]]:
    server = create_server(load_settings(api_key=None, oauth_token=None))

    async def listed() -> dict[str, dict[str, Any]]:
        return {tool.name: tool.input_schema for tool in await server.list_tools()}

    return anyio.run(listed)


SCHEMAS = _input_schemas()


def _keywords(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, keyword, value) of every keyword in a schema; the names under `properties` are argument
    names, not keywords."""
    if isinstance(node, dict):
        for key, child in node.items():
            if not path.endswith("/properties"):
                yield path, key, child
            yield from _keywords(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _keywords(child, f"{path}/{index}")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_no_unportable_keyword(name: str) -> None:
    found = [
        f"{path}/{key}"
        for path, key, value in _keywords(SCHEMAS[name])
        if key in UNPORTABLE or (key == "additionalProperties" and isinstance(value, bool))
    ]
    assert found == []


def test_an_argument_named_like_a_keyword_is_not_a_keyword() -> None:
    schema = {"type": "object", "properties": {"const": {"type": "string"}}}
    assert [key for _, key, _ in _keywords(schema)] == ["type", "properties", "type"]
