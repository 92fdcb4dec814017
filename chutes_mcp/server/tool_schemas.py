"""The tools' JSON Schemas, derived ahead of time and shipped in `tool_schemas.json`.

Deriving them at start (an argument model per tool built by the SDK, then pydantic writing both
schemas) was ~23 ms of the time the server spends on its own before it can answer `tools/list`. They
depend only on the code, so they are derived here, written once, and loaded at start. After changing a
tool's argument or result model, regenerate the file:

    python scripts/make_tool_schemas.py

A test fails, naming this command, whenever the file and the models disagree.
"""

from __future__ import annotations

import inspect
import json
from functools import cache
from importlib import resources
from typing import Annotated, Any

from mcp.server.mcpserver.tools import Tool
from pydantic import BaseModel, Field

from chutes_mcp.server import tools
from chutes_mcp.server.schema import compact_schema
from chutes_mcp.server.toolkit import ToolSpec

SCHEMA_FILE = "tool_schemas.json"
REGENERATE = "python scripts/make_tool_schemas.py"

ToolSchemas = dict[str, dict[str, Any]]


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


def derive(spec: ToolSpec[Any, Any]) -> dict[str, Any]:
    """`spec`'s input and output schemas, as the SDK derives them for a function taking the argument
    model's fields one by one (a single model parameter would nest every argument under its name,
    which agents get wrong). The output schema is compacted: the form clients check fastest."""

    async def call(**arguments: Any) -> Any:
        raise NotImplementedError  # never called: only its signature is read

    parameters = [_parameter(name, spec.args) for name in spec.args.model_fields]
    call.__signature__ = inspect.Signature(parameters, return_annotation=spec.output)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": spec.output}
    call.__name__ = spec.name  # the input schema's title is the function's name
    tool = Tool.from_function(call, name=spec.name)
    output = tool.fn_metadata.output_schema
    return {"input": tool.parameters, "output": None if output is None else compact_schema(output)}


def derive_all() -> ToolSchemas:
    return {spec.name: derive(spec) for spec in tools.ALL}


@cache
def shipped() -> ToolSchemas:
    """The schemas in the file, read once per process."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text("utf-8")
    schemas: ToolSchemas = json.loads(text)
    return schemas


def render(schemas: ToolSchemas) -> str:
    return json.dumps(schemas, indent=1, ensure_ascii=False) + "\n"
