"""Argument completion: model ids from the catalog for the model template and prompts, presets for tasks."""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.mcpserver import MCPServer
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from chutes_mcp.chutes.catalog.browse import complete_ids
from chutes_mcp.chutes.catalog.presets import PRESET_NAMES
from chutes_mcp.server.prompts import MODEL_ARGUMENTS, TASK_ARGUMENTS, TEE_MODEL_ARGUMENTS
from chutes_mcp.server.resources import MODEL_TEMPLATE
from chutes_mcp.server.runtime import Runtime

MAX_VALUES = 100  # the most one completion result may carry (MCP spec)


def _completion(values: list[str]) -> Completion:
    return Completion(values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES)


async def _model_ids(runtime: Runtime, typed: str, *, tee_only: bool) -> Completion:
    view = await runtime.catalog_view()
    return _completion(complete_ids(view, typed, tee_only=tee_only or runtime.settings.tee_only))


def register_completions(server: MCPServer[Runtime], runtime: Callable[[], Runtime]) -> None:
    """`runtime` gives the server's runtime while it serves: the SDK hands a completion handler the
    request's parameters but not its context."""

    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if isinstance(ref, ResourceTemplateReference):
            if ref.uri == MODEL_TEMPLATE and argument.name == "model_id":
                return await _model_ids(runtime(), argument.value, tee_only=False)
            return None
        key = (ref.name, argument.name)
        if key in TASK_ARGUMENTS:
            return _completion(
                [task for task in PRESET_NAMES if task.startswith(argument.value.strip().lower())]
            )
        if key in TEE_MODEL_ARGUMENTS or key in MODEL_ARGUMENTS:
            return await _model_ids(runtime(), argument.value, tee_only=key in TEE_MODEL_ARGUMENTS)
        return None

    # mcp 2.3 leaves `completion()` unannotated; the handler itself is fully typed.
    server.completion()(complete)  # type: ignore[no-untyped-call]
