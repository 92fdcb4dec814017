from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import pytest
from mcp.server.mcpserver import MCPServer
from mcp.shared.inbound import validate_mcp_param_headers
from pydantic import Field

from chutes_mcp.config import Settings
from chutes_mcp.server.app import create_server
from chutes_mcp.server.param_headers import annotates_headers, header_check_lookup, narrow_header_checks
from chutes_mcp.server.streamable_http import HttpOptions


def _routed_server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("routed")

    @server.tool()
    async def lookup(
        region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})], q: str
    ) -> str:
        return q

    return server


def _sdk_lookup(server: MCPServer[Any]) -> Any:
    return server._lowlevel_server.get_tool_input_schema


CASES: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"region": "eu", "q": "x"}, {"mcp-param-region": "eu"}),
    ({"region": "eu", "q": "x"}, {"mcp-param-region": "us"}),
    ({"region": "eu", "q": "x"}, {}),
    ({"q": "x"}, {"mcp-param-region": "eu"}),
    ({"prompt": "hi", "model": "chutes-fast"}, {"mcp-param-model": "chutes-fast"}),
    ({"prompt": "hi"}, {}),
]


def _verdict(schema: Mapping[str, Any] | None, arguments: dict[str, Any], headers: dict[str, str]) -> Any:
    if schema is None:
        return None
    rejection = validate_mcp_param_headers(schema, arguments, headers)
    return None if rejection is None else (rejection.code, rejection.message)


@pytest.mark.parametrize(("arguments", "headers"), CASES)
def test_the_narrowed_schema_gives_the_sdk_check_the_same_verdict(
    arguments: dict[str, Any], headers: dict[str, str]
) -> None:
    ours = create_server(Settings(api_key="cpk_test"), http=HttpOptions())
    for server in (ours, _routed_server()):
        full = _sdk_lookup(server)
        narrowed = header_check_lookup(full)
        for name in ("chat", "embed", "pick_model", "lookup"):
            assert _verdict(narrowed(name), arguments, headers) == _verdict(full(name), arguments, headers)


def test_a_mismatched_header_is_still_rejected_for_an_annotated_tool() -> None:
    server = _routed_server()
    narrow_header_checks(server)
    schema = _sdk_lookup(server)("lookup")
    assert annotates_headers(schema)
    rejection = validate_mcp_param_headers(schema, {"region": "eu", "q": "x"}, {"mcp-param-region": "us"})
    assert rejection is not None
    assert "Mcp-Param-Region" in rejection.message


def test_the_http_server_skips_the_walk_of_schemas_without_annotations() -> None:
    server = create_server(Settings(api_key="cpk_test"), http=HttpOptions())
    full_chat = server._tool_manager.get_tool("chat")
    assert full_chat is not None
    assert not annotates_headers(full_chat.parameters)
    narrowed = _sdk_lookup(server)("chat")
    assert narrowed == {"type": "object"}
    assert _sdk_lookup(server)("chat") is narrowed
    assert _sdk_lookup(server)("no_such_tool") is None
