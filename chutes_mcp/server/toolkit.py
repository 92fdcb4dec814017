"""How a tool is declared: one pydantic model for its arguments, one for its result, one async function.

The SDK derives a tool's input schema from the function's parameters. A single model parameter would
nest every argument under its name (`{"args": {...}}`), which agents get wrong; so each tool's function
is given a flat signature built from its argument model. The model stays the one source of truth for
names, types, bounds, descriptions and examples, and cross-field rules run on it before the tool does.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from chutes_mcp.chutes import ChutesError
from chutes_mcp.log import get_logger
from chutes_mcp.server.access_log import request_headers
from chutes_mcp.server.errors import (
    INTERNAL_ERROR,
    INVALID_ARGUMENTS,
    chutes_error_result,
    error_payload,
    error_result,
)
from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.schema import compact_schema

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


ToolBody = Callable[[Runtime, ArgsT, Context[Runtime]], Awaitable[Reply[OutputT]]]


@dataclass(frozen=True)
class ToolSpec(Generic[ArgsT, OutputT]):
    name: str
    title: str
    description: str
    args: type[ArgsT]
    output: type[OutputT]
    annotations: ToolAnnotations
    body: ToolBody[ArgsT, OutputT]


def _parameter(name: str, model: type[BaseModel]) -> inspect.Parameter:
    field = model.model_fields[name]
    # The field's own constraints travel in `metadata`; its description and examples in a fresh Field,
    # so the default is given once, as the parameter default.
    annotation: Any = Annotated[
        (
            field.annotation,
            *field.metadata,
            Field(description=field.description, examples=field.examples, title=field.title),
        )
    ]
    default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


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


def build_tool(spec: ToolSpec[ArgsT, OutputT]) -> Tool:
    """The SDK's tool for a spec, with its output schema in the compact form clients check fastest."""

    async def call(ctx: Context[Runtime], **arguments: Any) -> CallToolResult:
        try:
            args = spec.args.model_validate(arguments)
        except ValidationError as exc:
            return _invalid(exc)
        try:
            runtime = ctx.request_context.lifespan_context.for_request(
                request_headers(ctx.request_context.request)
            )
            reply = await spec.body(runtime, args, ctx)
        except Exception as exc:
            return _failure(spec.name, exc)
        return CallToolResult(
            content=[TextContent(type="text", text=reply.text)],
            structured_content=reply.output.model_dump(mode="json", by_alias=True),
        )

    parameters = [inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=Context[Runtime])]
    parameters += [_parameter(name, spec.args) for name in spec.args.model_fields]
    call.__signature__ = inspect.Signature(parameters, return_annotation=spec.output)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": spec.output}
    call.__name__ = spec.name
    tool = Tool.from_function(
        call, name=spec.name, title=spec.title, description=spec.description, annotations=spec.annotations
    )
    metadata = tool.fn_metadata
    if metadata.output_schema is not None:
        metadata.output_schema = compact_schema(metadata.output_schema)
    # The structured content is already the dump of a validated output model: the SDK's second
    # validation of it against the same model would only cost time.
    metadata.output_model = None
    return tool
