"""Derive what `tools/list` says about each tool from its `ToolSpec`, for `tool_schemas.json`.

Used by `scripts/make_tool_schemas.py`, which writes the file, and by the test that keeps it in sync;
the server itself only reads the file (`tool_schemas`).
"""

from __future__ import annotations

import inspect
import json
from typing import Annotated, Any

from mcp.server.mcpserver.tools import Tool
from pydantic import BaseModel, Field

from chutes_mcp.server import tools
from chutes_mcp.server.schema import compact_schema
from chutes_mcp.server.tool_schemas import ShippedTool, ShippedTools
from chutes_mcp.server.toolkit import ToolSpec


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


def derive(spec: ToolSpec[Any, Any]) -> ShippedTool:
    """`spec`'s listing, with the input and output schemas the SDK derives for a function taking the
    argument model's fields one by one (a single model parameter would nest every argument under its
    name, which agents get wrong). The output schema is compacted: the form clients check fastest."""

    async def call(**arguments: Any) -> Any:
        raise NotImplementedError  # never called: only its signature is read

    parameters = [_parameter(name, spec.args) for name in spec.args.model_fields]
    call.__signature__ = inspect.Signature(parameters, return_annotation=spec.output)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": spec.output}
    call.__name__ = spec.name  # the input schema's title is the function's name
    tool = Tool.from_function(call, name=spec.name)
    output = tool.fn_metadata.output_schema
    return {
        "title": spec.title,
        "description": spec.description,
        "annotations": spec.annotations.model_dump(mode="json", by_alias=True, exclude_none=True),
        "input": tool.parameters,
        "output": None if output is None else compact_schema(output),
    }


def derive_all() -> ShippedTools:
    return {spec.name: derive(spec) for spec in tools.ALL}


def render(shipped: ShippedTools) -> str:
    return json.dumps(shipped, indent=1, ensure_ascii=False) + "\n"
