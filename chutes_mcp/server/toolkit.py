"""How a tool is declared: one pydantic model for its arguments, one for its result, one async function.

The argument model is the one source of truth for names, types, bounds and descriptions. Each tool is
registered with the SDK's `add_tool` as a function whose parameters are the model's fields and whose
result is the result model, so the SDK derives both schemas and validates the arguments. The argument
model itself checks them first (`check_arguments`, from the server's middleware), so a bad argument is
the house's typed `invalid_arguments` error that names each field, strictly typed and with unknown
names refused, and its cross-field rules hold.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema
from pydantic.config import JsonDict

from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.log import get_logger
from chutes_mcp.server.error_results import (
    INTERNAL_ERROR,
    INVALID_ARGUMENTS,
    chutes_error_result,
    error_payload,
    error_result,
    shutdown_result,
)
from chutes_mcp.server.request_headers import headers_of
from chutes_mcp.server.result_size import ResultTooLargeError, bounded, too_large_result

if TYPE_CHECKING:
    from chutes_mcp.server.shutdown import RunningCall, Shutdown
from chutes_mcp.server.runtime import Runtime
from chutes_mcp.server.shutdown import RunningCall, Shutdown

log = get_logger(__name__)

ArgsT = TypeVar("ArgsT", bound=BaseModel)
JsonT = TypeVar("JsonT")
OutputT = TypeVar("OutputT", bound=BaseModel)

READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
# A model call costs money and its answer varies, but it changes nothing on the user's side.
INVOKES_MODEL = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)

ToolContext = Context["Runtime"]

# Hosts translate a tool's input schema into their model's function-calling dialect, and translators
# know a subset of JSON Schema: google-genai's `Schema.from_json_schema` refuses `examples`, `const`,
# `exclusiveMinimum` and `discriminator`, and drops `oneOf`. So the argument models keep to that
# subset: examples go in the description, a lower bound is a `ge`, and where pydantic's own spelling of
# a type is not portable, one of these rewrites (as a Field's `json_schema_extra`) says the same thing
# in words every translator knows. tests/test_tool_schema_portability.py has the translators judge.


def enum_of_one(schema: JsonDict) -> None:
    """A one-value `Literal` as `{"enum": [value]}` rather than `{"const": value}`."""
    schema["enum"] = [schema.pop("const")]


def tagged_union_as_any_of(schema: JsonDict) -> None:
    """A union tagged by a discriminator as plain `anyOf` rather than `oneOf` with OpenAPI's
    `discriminator`: the members' tags differ, so a value matches at most one member either way. (The
    model still validates it as a tagged union, with the tag named in its errors.)"""
    schema["anyOf"] = schema.pop("oneOf")
    schema.pop("discriminator", None)


def without_additional_properties(schema: JsonDict) -> None:
    """No `additionalProperties`: google-genai's MCP support fails on a boolean one, and with it every
    tool of the server (python-genai#2393). On an open object (`true`) it is the default anyway; unknown
    keys in a closed one (`false`) are still refused by the model, and the hosts that want objects
    closed in the schema (OpenAI's strict mode) close them themselves."""
    schema.pop("additionalProperties", None)


class ToolArguments(BaseModel):
    """The base of every tool's argument model: an unknown name is refused rather than silently ignored
    (a misspelt `max_token` would run on a default the caller never chose), what the schema says is an
    integer, a number or a boolean is not read from a string, and a number is finite (JSON parsers read
    NaN, and 1e400 as infinity, which no bound or price comparison handles sensibly)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


def _non_finite_at(value: Any) -> str | None:
    """The path of the first number in a JSON value that is NaN or infinite, or None when all are finite."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "the top"
        children = (
            item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        )
        pending.extend((f"{path}.{key}" if path else str(key), child) for key, child in children)
    return None


def finite_json(value: JsonT) -> JsonT:
    """A JSON value a call passes on to Chutes (a tool's parameters, a response schema), refused when a
    number in it is not finite: it could not be sent as JSON at all."""
    where = _non_finite_at(value)
    if where is not None:
        raise ValueError(
            f"has a number that is not finite at {where} (NaN, or infinity: 1e400 reads as that)"
        )
    return value


@dataclass(frozen=True)
class Reply(Generic[OutputT]):
    """A tool's answer: the structured result, and a short text a person (or a model) reads."""

    output: OutputT
    text: str


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


def _said(error: Mapping[str, Any]) -> str:
    """pydantic's message for one error, where it misleads or stutters put plainly."""
    if error["type"] == "finite_number":
        if math.isnan(error["input"]):
            return "NaN is not a number"
        return (
            "is infinite (a number beyond ±1.8e308, such as 1e400, reads as infinity); give a finite number"
        )
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _invalid(exc: ValidationError) -> CallToolResult:
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {_said(error)}"
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
    if isinstance(exc, ResultTooLargeError):
        return too_large_result(exc)
    log.exception("tool.crash", tool=tool)
    return error_result(
        error_payload(
            INTERNAL_ERROR,
            f"{tool} failed unexpectedly ({type(exc).__name__})",
            "This is a bug in chutes-mcp: the server log has the details; please report it. "
            "Retrying may work.",
        )
    )


def _json_decoded(arguments: Mapping[str, Any], names: set[Any]) -> dict[str, Any] | None:
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


def check_arguments(spec: ToolSpec[Any, Any], arguments: Mapping[str, Any]) -> CallToolResult | None:
    """None when `arguments` are valid for the tool; otherwise its `invalid_arguments` result.

    A list or object sent as a JSON string (Claude Desktop sends structured arguments that way) is
    decoded only where the field refused the string, so a text argument that happens to be JSON stays
    text.
    """
    try:
        spec.args.model_validate(arguments)
    except ValidationError as exc:
        refused = {error["loc"][0] for error in exc.errors() if error["loc"]}
        decoded = _json_decoded(arguments, refused)
        if decoded is None:
            return _invalid(exc)
        try:
            spec.args.model_validate(decoded)
        except ValidationError as again:
            return _invalid(again)
    return None


# The SDK decodes an argument sent as a string of JSON unless its parameter is annotated exactly `str`
# (python-sdk#1113 exempted `str` only), so `prompt: str | None` would turn the prompt '{"a": 1}' into
# an object and refuse it. Such a parameter is therefore shown to the SDK as `str`, with the schema of
# `str | None` published, and an explicit null is dropped before the SDK sees it (`without_nulls`): the
# default it stands for is None. Remove both when the SDK leaves strings alone for any parameter that
# accepts them.
_OPTIONAL_TEXT: Any = str | None


def without_nulls(spec: ToolSpec[Any, Any], arguments: Mapping[str, Any]) -> Mapping[str, Any]:
    """`arguments` without the explicit nulls that stand for a None default (see above)."""
    fields = spec.args.model_fields
    if not any(value is None and name in fields for name, value in arguments.items()):
        return arguments
    return {
        name: value
        for name, value in arguments.items()
        if value is not None or name not in fields or fields[name].default is not None
    }


def _parameter(name: str, model: type[BaseModel]) -> inspect.Parameter:
    field = model.model_fields[name]
    kind: Any = field.annotation
    shown: tuple[Any, ...] = ()
    if kind == _OPTIONAL_TEXT:
        schema = TypeAdapter(Annotated[(kind, *field.metadata)]).json_schema()
        kind, shown = str, (WithJsonSchema(schema),)
    # The field's constraints and validators travel in `metadata`; its description, examples and schema
    # rewrites in a fresh Field, so the default is given once, as the parameter default.
    annotation: Any = Annotated[
        (
            kind,
            *field.metadata,
            *shown,
            Field(
                description=field.description,
                examples=field.examples,
                title=field.title,
                json_schema_extra=field.json_schema_extra,
            ),
        )
    ]
    default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _listened(runtime: Runtime, running: RunningCall) -> Runtime:
    """`runtime` with `running` hearing the answer as it streams (and the listener it had, if any), so
    a call the stop ends still has the text that had arrived."""
    listener = runtime.answer_listener
    if listener is None:
        return replace(runtime, answer_listener=running.hear)

    def both(piece: str) -> None:
        running.hear(piece)
        listener(piece)

    return replace(runtime, answer_listener=both)


def _tool_function(spec: ToolSpec[Any, Any], shutdown: Shutdown) -> Callable[..., Awaitable[CallToolResult]]:
    """The function the SDK registers: the argument model's fields as keyword parameters (one level,
    as agents expect them, rather than nested under a single model parameter), and a result whose
    structured part follows `spec.output`. Every result, an error too, passes the size bound on its
    way out (`result_size.bounded`), so no tool can send a message that would cost the host its
    connection. A call the server's stop ends answers with the `shutdown` error (see shutdown.py)."""

    async def call(ctx: ToolContext, **arguments: Any) -> CallToolResult:
        try:
            args = spec.args.model_validate(arguments)
        except ValidationError as exc:
            return _invalid(exc)
        try:
            runtime = ctx.request_context.lifespan_context
            caller = runtime.for_request(headers_of(ctx.request_context.request), get_access_token())
            with shutdown.call() as running:
                reply = await spec.body(_listened(caller, running), args, ctx)
        except Exception as exc:
            return bounded(spec.name, _failure(spec.name, exc))
        if running.ended:
            return bounded(spec.name, shutdown_result(running.partial_text))
        return bounded(
            spec.name,
            CallToolResult(
                content=[TextContent(type="text", text=reply.text)],
                structured_content=reply.output.model_dump(mode="json", by_alias=True),
            ),
        )

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=ToolContext)
    fields = [_parameter(name, spec.args) for name in spec.args.model_fields]
    # The SDK reads a tool's arguments from its signature and its output schema from the return
    # annotation: `Annotated[CallToolResult, Model]` is its form for "a result whose structured
    # content is a Model".
    returns = Annotated[CallToolResult, spec.output]
    call.__signature__ = inspect.Signature([context, *fields], return_annotation=returns)  # type: ignore[attr-defined]
    call.__annotations__ = {"ctx": ToolContext, **{p.name: p.annotation for p in fields}, "return": returns}
    call.__name__ = spec.name  # the input schema's title is the function's name
    return call


def add_tools(
    server: MCPServer[Runtime], specs: Mapping[str, ToolSpec[Any, Any]], shutdown: Shutdown
) -> None:
    for spec in specs.values():
        server.add_tool(
            _tool_function(spec, shutdown),
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations,
            structured_output=True,
        )
