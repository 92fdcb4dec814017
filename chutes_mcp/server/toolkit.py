"""How a tool is declared: one pydantic model for its arguments, one for its result, one async function.

The argument model is the one source of truth for names, types, bounds, descriptions and examples:
the published input schema is derived from it ahead of time (`tool_schemas`), and at each call it checks
the arguments, cross-field rules included, before the tool runs.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, ValidationError

from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.log import get_logger
from chutes_mcp.server.access_log import request_headers
from chutes_mcp.server.error_results import (
    INTERNAL_ERROR,
    INVALID_ARGUMENTS,
    chutes_error_result,
    error_payload,
    error_result,
)
from chutes_mcp.server.tool_schemas import ShippedTool

if TYPE_CHECKING:
    from chutes_mcp.server.runtime import Runtime
    from chutes_mcp.server.runtime_slot import RuntimeSlot

log = get_logger(__name__)

ArgsT = TypeVar("ArgsT", bound=BaseModel)
OutputT = TypeVar("OutputT", bound=BaseModel)

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
# A model call costs money and its answer varies, but it changes nothing on the user's side.
INVOKES_MODEL = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


@dataclass(frozen=True)
class Reply(Generic[OutputT]):
    """A tool's answer: the structured result, and a short text a person (or a model) reads."""

    output: OutputT
    text: str


# A string: subscripting the SDK's generic Context at import builds a pydantic model class, at start.
ToolContext: TypeAlias = "Context[RuntimeSlot]"
ToolBody = Callable[["Runtime", ArgsT, ToolContext], Awaitable[Reply[OutputT]]]


@dataclass(frozen=True)
class ToolSpec(Generic[ArgsT, OutputT]):
    name: str
    title: str
    description: str
    args: type[ArgsT]
    output: type[OutputT]
    annotations: ToolAnnotations
    body: ToolBody[ArgsT, OutputT]


def _invalid(exc: ValidationError) -> CallToolResult:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
    return error_result(
        error_payload(INVALID_ARGUMENTS, problems, "Fix the arguments named above and call the tool again.")
    )


def _failure(tool: str, exc: Exception) -> CallToolResult:
    """A failure in the house shape: Chutes errors as they are (also when a task group wrapped one);
    anything else is a bug of ours, logged with its traceback and reported without internals."""
    while isinstance(exc, ExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, ChutesError):
        return chutes_error_result(exc)
    log.exception("tool.crash", tool=tool)
    return error_result(
        error_payload(
            INTERNAL_ERROR,
            f"{tool} failed unexpectedly ({type(exc).__name__})",
            "This is a bug in chutes-mcp: the server log has the details; please report it. "
            "Retrying may work.",
        )
    )


class _Arguments(ArgModelBase):
    """What the SDK hands a tool: the arguments as sent, for the tool's own model to check.

    The SDK would otherwise validate them against a model of its own, built at start from the tool's
    signature, and report a mismatch as one line of pydantic text; the tool's model reports each field.
    """

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return {"arguments": self.model_extra or {}}


def _json_decoded(arguments: dict[str, Any], names: set[Any]) -> dict[str, Any] | None:
    """`arguments` with those of `names` that are a JSON list or object in a string decoded; None when
    there is none."""
    decoded = dict(arguments)
    for name in names & arguments.keys():
        value = arguments[name]
        try:
            parsed = json.loads(value) if isinstance(value, str) else None
        except (ValueError, RecursionError):
            continue
        if isinstance(parsed, list | dict):
            decoded[name] = parsed
    return decoded if decoded != arguments else None


def _validated(model: type[ArgsT], arguments: dict[str, Any]) -> ArgsT:
    """The arguments as `model`, a list or object sent as a JSON string included.

    Some clients (Claude Desktop among them) send every structured argument that way. A string is
    decoded only where the field refused it, so a text argument that happens to be JSON stays text.
    """
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        refused = {error["loc"][0] for error in exc.errors() if error["loc"]}
        decoded = _json_decoded(arguments, refused)
        if decoded is None:
            raise
        return model.model_validate(decoded)


@cache
def _loaded(name: str) -> ToolSpec[Any, Any]:
    # The tool modules import the Chutes domain, so they load with the runtime (see `runtime_slot`).
    from chutes_mcp.server.tools import BY_NAME

    return BY_NAME[name]


def build_tool(name: str, shipped: ShippedTool) -> Tool:
    """The SDK's tool `name`, listed as `shipped` says (see `tool_schemas`); its module loads on first use."""

    async def call(ctx: ToolContext, arguments: dict[str, Any]) -> CallToolResult:
        try:
            runtime = await ctx.request_context.lifespan_context.runtime()
        except Exception as exc:
            return _failure(name, exc)
        spec = _loaded(name)
        try:
            args = _validated(spec.args, arguments)
        except ValidationError as exc:
            return _invalid(exc)
        try:
            reply = await spec.body(
                runtime.for_request(request_headers(ctx.request_context.request)), args, ctx
            )
        except Exception as exc:
            return _failure(name, exc)
        return CallToolResult(
            content=[TextContent(type="text", text=reply.text)],
            structured_content=reply.output.model_dump(mode="json", by_alias=True),
        )

    # Without an `output_model`, the SDK publishes the output schema and leaves the result alone: it is
    # already the dump of a validated output model, and a second validation would only cost time.
    metadata = FuncMetadata(arg_model=_Arguments, output_schema=shipped["output"])
    return Tool(
        fn=call,
        name=name,
        title=shipped["title"],
        description=shipped["description"],
        parameters=shipped["input"],
        fn_metadata=metadata,
        is_async=True,
        context_kwarg="ctx",
        annotations=ToolAnnotations.model_validate(shipped["annotations"]),
    )
