"""`chutes-mcp serve` over stdio, in both protocol eras, as hosts run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from mcp_support import ERAS, error_of, mcp_session
from sim_process import SimProcess

from chutes_mcp import __version__

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ERAS)
async def test_handshake_names_the_server_and_its_tools(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        listed = await client.list_tools()
        info = client.server_info
    names = [tool.name for tool in listed.tools]
    assert names == ["chat", "embed", "list_models", "get_model", "pick_model", "account"]
    for tool in listed.tools:
        assert tool.description
        assert tool.annotations is not None
        assert tool.output_schema is not None
    assert info is not None
    assert (info.name, info.version) == ("chutes-mcp", __version__)


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_tool_is_a_protocol_error(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as caught:
            await client.call_tool("no_such_tool", {})
    assert caught.value.error.code == INVALID_PARAMS


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_arguments_are_refused_not_dropped(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("account", {"verbose": True})
    payload = error_of(result)
    assert payload["code"] == "invalid_arguments"
    assert "verbose" in payload["message"]


@pytest.mark.parametrize("mode", ERAS)
async def test_account(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("account", {})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["balance_usd"] == 25.0
    assert result.structured_content["daily_quota"] == 2000


@pytest.mark.parametrize("mode", ERAS)
async def test_account_without_a_credential(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode, CHUTES_API_KEY="") as client:  # type: ignore[arg-type]
        result = await client.call_tool("account", {})
    payload = error_of(result)
    assert payload["code"] == "auth_invalid"
    assert "CHUTES_API_KEY" in payload["hint"]
