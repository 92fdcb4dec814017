"""One module per tool; `TOOLS` in the order clients list them."""

from __future__ import annotations

from typing import Any

from chutes_mcp.server.toolkit import ToolSpec
from chutes_mcp.server.tools import account, chat, embed, get_model, list_models, pick_model

TOOLS: dict[str, ToolSpec[Any, Any]] = {
    spec.name: spec
    for spec in (chat.SPEC, embed.SPEC, list_models.SPEC, get_model.SPEC, pick_model.SPEC, account.SPEC)
}
