"""`progress_requested` against the SDK's real transports: what `chat` relies on to skip its heartbeat."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import progress_probe
import pytest
from mcp import Client, StdioServerParameters
from mcp_support import ERAS, text_of


async def _ignore(progress: float, total: float | None, message: str | None) -> None:
    pass


async def _asks(client: Client) -> tuple[str, str]:
    with_callback = await client.call_tool("listening", {}, progress_callback=_ignore)
    without = await client.call_tool("listening", {})
    return text_of(with_callback), text_of(without)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_over_stdio_only_a_caller_with_a_progress_callback_listens(
    mode: Literal["auto", "legacy"],
) -> None:
    params = StdioServerParameters(command=sys.executable, args=[str(Path(progress_probe.__file__))])
    async with Client(params, mode=mode) as client:
        assert await _asks(client) == ("True", "False")


@pytest.mark.anyio
async def test_in_process_every_caller_counts_as_listening() -> None:
    # The SDK's in-process transport passes the callback without a token: no way to tell, so yes.
    async with Client(progress_probe.server) as client:
        assert await _asks(client) == ("True", "True")
