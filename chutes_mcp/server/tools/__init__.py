"""One module per tool; `ALL` is the order in which clients list them.

The server imports this package after the handshake (see `runtime_slot`); it lists the tools from
`tool_schemas.json`, which is derived from `ALL`.
"""

from __future__ import annotations

from typing import Any

from chutes_mcp.server.toolkit import ToolSpec
from chutes_mcp.server.tools import account, chat, embed, get_model, list_models, pick_model

ALL: tuple[ToolSpec[Any, Any], ...] = (
    chat.SPEC,
    embed.SPEC,
    list_models.SPEC,
    get_model.SPEC,
    pick_model.SPEC,
    account.SPEC,
)
BY_NAME = {spec.name: spec for spec in ALL}
