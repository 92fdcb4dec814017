"""Every tool's input schema, as a real `serve --sim` lists it, judged by the libraries hosts translate
tool schemas with.

A host that puts MCP tools in front of a model translates each `inputSchema` into that model's
function-calling dialect. The translators judge ours here, doing their own work:

- google-genai, `types.Schema.from_json_schema` with `raise_error_on_unsupported_field=True`: the
  conversion must succeed, and the converted schema must accept and refuse what the server does. The
  library has no validator of its own for a `Schema`, so the check converts it back with its public
  `Schema.json_schema` (the Gemini schema in JSON Schema's words; whatever Gemini's dialect cannot hold
  is gone by then) and validates with `jsonschema`. Each tool has argument sets of three kinds, each
  also run through the server's own argument check (`check_arguments`, what its middleware runs):
  valid (the server, the listed schema and the converted schema accept them), invalid (all three
  refuse them: bounds, lengths, patterns, enums, types, union members) and server-only (the server
  refuses them on a rule no portable schema states: cross-field rules, unknown names).
- google-genai's MCP support, `generate_content` with the listed tools, against a stub Gemini endpoint
  on loopback that records the function declarations it is sent.
- openai-agents' strict mode: its public `ensure_strict_json_schema` on every schema, and the path a
  host takes, an `Agent` with `convert_schemas_to_strict` listing the tools through openai-agents' own
  MCP client. Two fields of `chat` carry a caller's own JSON Schema, which strict mode cannot express
  (see `CALLER_SCHEMAS`): the conversion can only close them empty, which openai-agents' MCP path
  refuses to do; the rest of `chat` must convert, unchanged by them. A call a strict-mode model makes
  (every property present, null where allowed) must pass the server's check.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import anyio
import jsonschema
import pytest
from agents import Agent, RunContextWrapper
from agents.mcp import MCPServerStdio
from agents.strict_schema import ensure_strict_json_schema
from agents.tool import FunctionTool
from google import genai
from google.genai import types as gemini
from mcp import Client, StdioServerParameters
from mcp.types import Tool

from chutes_mcp.chutes.catalog.browse import MAX_LIMIT
from chutes_mcp.server.toolkit import check_arguments
from chutes_mcp.server.tools import TOOLS

# Where `chat` carries a JSON Schema of the caller's: strict mode needs every object closed
# (`additionalProperties: false`) with every property required, and a caller's schema is neither.
CALLER_SCHEMAS = (
    ("$defs", "FunctionSpec", "properties", "parameters"),  # tools[].function.parameters
    ("$defs", "JsonSchemaSpec", "properties", "schema"),  # response_format.json_schema.schema
)
# What strict mode can express in their place: an object it can close.
CLOSED_OBJECT: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}

Kind = Literal["valid", "invalid", "server-only"]

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather now",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PERSON = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}

CASES: dict[str, list[tuple[Kind, dict[str, Any]]]] = {
    "chat": [
        ("valid", {"prompt": "hello"}),
        (
            "valid",
            {
                "prompt": "hi",
                "system": "Be brief.",
                "model": "chutes-fast",
                "fallbacks": "auto",
                "temperature": 0.7,
                "top_p": 0.9,
                "max_tokens": 64,
                "stop": ["\n\n"],
                "seed": 7,
                "thinking": False,
                "reasoning_effort": "none",
                "include_reasoning": True,
                "retry_without_thinking": True,
                "tee_only": True,
                "timeout_s": 30,
                "max_cost_usd": 0.01,
            },
        ),
        # The lower bounds themselves.
        ("valid", {"prompt": "x", "top_p": 0.01, "timeout_s": 0.1, "max_cost_usd": 1e-9, "temperature": 0}),
        ("valid", {"prompt": "x", "fallbacks": ["chutes-fast", "zai-org/GLM-4.7-TEE"], "stop": "END"}),
        (
            "valid",
            {
                "messages": [
                    {"role": "system", "content": "Describe images."},
                    {"role": "user", "content": [{"type": "text", "text": "What is this?"}, IMAGE]},
                ]
            },
        ),
        (
            "valid",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
                        ],
                    }
                ]
            },
        ),
        (
            "valid",
            {
                "messages": [
                    {"role": "user", "content": "Weather in Paris?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
                ],
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            },
        ),
        ("valid", {"prompt": "x", "tools": [WEATHER_TOOL], "tool_choice": "required"}),
        ("valid", {"prompt": "x", "response_format": {"type": "json_object"}}),
        (
            "valid",
            {
                "prompt": "x",
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "person", "schema": PERSON, "strict": True},
                },
            },
        ),
        ("invalid", {"prompt": ""}),
        ("invalid", {"prompt": "x", "top_p": 0}),
        ("invalid", {"prompt": "x", "top_p": 0.005}),
        ("invalid", {"prompt": "x", "top_p": 1.5}),
        ("invalid", {"prompt": "x", "timeout_s": 0}),
        ("invalid", {"prompt": "x", "timeout_s": 3601}),
        ("invalid", {"prompt": "x", "max_cost_usd": 0}),
        ("invalid", {"prompt": "x", "temperature": 2.5}),
        ("invalid", {"prompt": "x", "max_tokens": 0}),
        ("invalid", {"prompt": "x", "max_tokens": "10"}),
        ("invalid", {"prompt": "x", "fallbacks": "sometimes"}),
        ("invalid", {"prompt": "x", "fallbacks": []}),
        ("invalid", {"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}),
        ("invalid", {"prompt": "x", "reasoning_effort": "extreme"}),
        ("invalid", {"messages": []}),
        ("invalid", {"messages": [{"role": "developer", "content": "x"}]}),
        ("invalid", {"messages": [{"role": "user", "content": [{"type": "video", "text": "x"}]}]}),
        ("invalid", {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
        (
            "invalid",
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}],
                    }
                ]
            },
        ),
        ("invalid", {"prompt": "x", "response_format": {"type": "xml"}}),
        (
            "invalid",
            {"prompt": "x", "response_format": {"type": "json_schema", "json_schema": {"name": "a"}}},
        ),
        ("invalid", {"prompt": "x", "tools": [{"type": "retrieval", "function": {"name": "f"}}]}),
        ("invalid", {"prompt": "x", "tools": [{"type": "function", "function": {"name": "get weather"}}]}),
        ("invalid", {"prompt": "x", "tools": []}),
        # Cross-field rules and closed objects: the server's alone.
        ("server-only", {}),
        ("server-only", {"prompt": "x", "messages": [{"role": "user", "content": "y"}]}),
        ("server-only", {"messages": [{"role": "tool", "content": "18 C"}]}),
        ("server-only", {"messages": [{"role": "system", "content": [IMAGE]}]}),
        ("server-only", {"messages": [{"role": "user"}]}),
        ("server-only", {"prompt": "x", "tool_choice": "auto"}),
        (
            "server-only",
            {"prompt": "x", "tools": [WEATHER_TOOL], "tool_choice": {"function": {"name": "get_time"}}},
        ),
        ("server-only", {"prompt": "x", "thinking": True, "reasoning_effort": "none"}),
        ("server-only", {"prompt": "x", "max_token": 5}),
        (
            "server-only",
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "x", "cache": 1}]}]},
        ),
    ],
    "embed": [
        ("valid", {"input": "The quick brown fox"}),
        (
            "valid",
            {"input": ["first", "second"], "model": "BAAI/bge-m3", "dimensions": 256, "tee_only": True},
        ),
        ("invalid", {}),
        ("invalid", {"input": ""}),
        ("invalid", {"input": []}),
        ("invalid", {"input": ["ok", ""]}),
        ("invalid", {"input": 5}),
        ("invalid", {"input": "x", "dimensions": 0}),
        ("invalid", {"input": "x", "model": "m" * 301}),
        ("server-only", {"input": "x", "normalize": True}),
    ],
    "list_models": [
        ("valid", {}),
        (
            "valid",
            {
                "tee_only": True,
                "features": ["tools", "reasoning"],
                "input_modality": "image",
                "min_context": 32768,
                "max_input_price": 0.5,
                "max_output_price": 2,
                "exclude": ["zai-org/GLM-4.7-TEE"],
                "query": "qwen 235b",
                "sort": "price",
                "fields": ["id", "tee", "input_price"],
                "limit": MAX_LIMIT,
                "cursor": "abc",
            },
        ),
        ("valid", {"max_input_price": 0, "limit": 1}),
        ("invalid", {"limit": 0}),
        ("invalid", {"limit": MAX_LIMIT + 1}),
        ("invalid", {"sort": "random"}),
        ("invalid", {"fields": ["id", "colour"]}),
        ("invalid", {"features": ["telepathy"]}),
        ("invalid", {"input_modality": "smell"}),
        ("invalid", {"min_context": 0}),
        ("invalid", {"max_input_price": -1}),
        ("invalid", {"query": "q" * 201}),
        ("server-only", {"page": 2}),
    ],
    "get_model": [
        ("valid", {"model": "zai-org/GLM-4.7-TEE"}),
        ("valid", {"model": "glm-4.7", "tee_only": True}),
        ("invalid", {}),
        ("invalid", {"model": ""}),
        ("invalid", {"model": "m" * 301}),
        ("invalid", {"model": 5}),
        ("server-only", {"model": "glm-4.7", "verbose": True}),
    ],
    "pick_model": [
        ("valid", {}),
        (
            "valid",
            {"task": "coding", "k": 10, "selector": "latency", "tee_only": True, "features": ["tools"]},
        ),
        ("invalid", {"k": 0}),
        ("invalid", {"k": 11}),
        ("invalid", {"task": "poetry"}),
        ("invalid", {"selector": "random"}),
        ("server-only", {"task": "coding", "budget": 1}),
    ],
    "account": [
        ("valid", {}),
        ("server-only", {"verbose": True}),
    ],
}


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`serve --sim` needs no key and no network: a minimal environment, as hosts give their servers."""
    home = tmp_path_factory.mktemp("home")
    env = {key: os.environ[key] for key in ("PATH", "LANG", "SYSTEMROOT") if key in os.environ}
    return {**env, "HOME": str(home), "CHUTES_CACHE_DIR": str(home / "cache")}


SERVE = ("-m", "chutes_mcp", "serve", "--sim")


@pytest.fixture(scope="module")
def listed(server_env: dict[str, str]) -> dict[str, Tool]:
    """The tools as a spawned `serve --sim` lists them over stdio."""

    async def tools() -> list[Tool]:
        parameters = StdioServerParameters(command=sys.executable, args=list(SERVE), env=server_env)
        with anyio.fail_after(60):
            async with Client(parameters) as client:
                return (await client.list_tools()).tools

    return {tool.name: tool for tool in anyio.run(tools)}


def test_every_tool_has_cases_of_every_kind_it_can_have(listed: dict[str, Tool]) -> None:
    assert sorted(CASES) == sorted(listed)
    for name, cases in CASES.items():
        kinds = {kind for kind, _ in cases}
        assert {"valid", "server-only"} <= kinds, name
        # A tool with arguments has bounds, types or names to break.
        assert "invalid" in kinds or not listed[name].input_schema["properties"], name


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def _gemini_schema(input_schema: dict[str, Any]) -> gemini.Schema:
    return gemini.Schema.from_json_schema(
        json_schema=gemini.JSONSchema.model_validate(input_schema), raise_error_on_unsupported_field=True
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_google_genai_converts_the_schema_and_it_accepts_what_the_server_accepts(
    listed: dict[str, Tool], name: str
) -> None:
    listed_schema = listed[name].input_schema
    converted = _gemini_schema(listed_schema).json_schema.model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    for kind, arguments in CASES[name]:
        server_refusal = check_arguments(TOOLS[name], arguments)
        assert (server_refusal is None) == (kind == "valid"), (kind, arguments, server_refusal)
        if kind == "valid":
            assert _errors(listed_schema, arguments) == [], arguments
            assert _errors(converted, arguments) == [], arguments
        elif kind == "invalid":
            assert _errors(listed_schema, arguments), f"the listed schema takes {arguments}"
            assert _errors(converted, arguments), f"the Gemini schema takes {arguments}"


class _StubGemini(BaseHTTPRequestHandler):
    """Answers every generateContent with a short text, and keeps each request body."""

    requests: list[dict[str, Any]]

    def do_POST(self) -> None:
        self.requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        body = json.dumps(
            {
                "candidates": [
                    {"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}
                ]
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@pytest.fixture
def stub_gemini() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    requests: list[dict[str, Any]] = []
    handler = type("Handler", (_StubGemini,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_google_genai_sends_every_listed_tool_to_gemini(
    listed: dict[str, Tool], stub_gemini: tuple[str, list[dict[str, Any]]]
) -> None:
    """google-genai's own MCP support: given the listed tools, it translates each one (a tool it
    cannot translate fails the whole request) and sends the declarations."""
    url, requests = stub_gemini
    client = genai.Client(api_key="test-key", http_options=gemini.HttpOptions(base_url=url, timeout=30_000))
    config = gemini.GenerateContentConfig(
        tools=list(listed.values()),
        automatic_function_calling=gemini.AutomaticFunctionCallingConfig(disable=True),
    )
    response = client.models.generate_content(model="gemini-test", contents="hello", config=config)
    assert response.text == "ok"
    (request,) = requests
    declarations = {
        declaration["name"]: declaration
        for tool in request["tools"]
        for declaration in tool["functionDeclarations"]
    }
    assert sorted(declarations) == sorted(listed)
    image_part = declarations["chat"]["parameters"]["properties"]["messages"]["items"]
    assert "content" in image_part["properties"]


def _at(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        schema = schema[key]
    return schema


def _replaced(schema: dict[str, Any], paths: tuple[tuple[str, ...], ...]) -> dict[str, Any]:
    replaced = copy.deepcopy(schema)
    for path in paths:
        _at(replaced, path[:-1])[path[-1]] = copy.deepcopy(CLOSED_OBJECT)
    return replaced


def _open_objects(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths of the object schemas that declare no properties: what strict mode cannot close."""
    if isinstance(node, dict):
        if node.get("type") == "object" and not node.get("properties"):
            yield path
        for key, child in node.items():
            yield from _open_objects(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _open_objects(child, (*path, str(index)))


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    return ensure_strict_json_schema(copy.deepcopy(schema))


def test_the_caller_schemas_of_chat_are_the_only_objects_strict_mode_cannot_close(
    listed: dict[str, Tool],
) -> None:
    open_objects = {name: list(_open_objects(tool.input_schema)) for name, tool in listed.items()}
    # account takes no arguments: its root is an object without properties (see the agents test).
    assert open_objects == {
        **{name: [] for name in listed},
        "chat": list(CALLER_SCHEMAS),
        "account": [()],
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_openai_agents_strict_conversion(listed: dict[str, Tool], name: str) -> None:
    schema = listed[name].input_schema
    if name == "chat":
        # Strict mode closes every object. The caller schemas it can only close empty, so a strict
        # chat would take no caller schema at all; everything else converts as it does with them
        # replaced. (openai-agents' MCP path refuses the conversion instead: see below.)
        whole = _strict(schema)
        schema = _replaced(schema, CALLER_SCHEMAS)
        rest = _strict(schema)
        for path in CALLER_SCHEMAS:
            assert _at(whole, path)["additionalProperties"] is False
            assert not _at(whole, path).get("properties")
        assert _replaced(whole, CALLER_SCHEMAS) == _replaced(rest, CALLER_SCHEMAS)
        for kind, arguments in CASES[name]:
            if kind == "valid" and _carries_caller_schema(arguments):
                assert _errors(whole, _as_a_strict_model_sends(arguments, whole, whole)), arguments
    strict = _strict(schema)
    # A strict-mode model sends every property, null where the schema allows it and a value otherwise;
    # the server must take such a call.
    for kind, arguments in CASES[name]:
        if kind != "valid" or (name == "chat" and _carries_caller_schema(arguments)):
            continue
        sent = _as_a_strict_model_sends(arguments, strict, strict)
        assert _errors(strict, sent) == [], sent
        assert check_arguments(TOOLS[name], sent) is None, sent


def _as_a_strict_model_sends(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    """`value` with every property of every object present: null where the schema takes null, its
    default otherwise (a required property without either stays missing, so the value does not fit)."""
    defs = {"$defs": root.get("$defs", {})}
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    if "anyOf" in schema:
        for member in schema["anyOf"]:
            sent = _as_a_strict_model_sends(value, member, root)
            if not _errors({**member, **defs}, sent):
                return sent
        return value
    if isinstance(value, dict) and "properties" in schema:
        sent = {}
        for key, prop in schema["properties"].items():
            if key in value:
                sent[key] = _as_a_strict_model_sends(value[key], prop, root)
            elif not _errors({**prop, **defs}, None):
                sent[key] = None
            elif "default" in prop:
                sent[key] = prop["default"]
        return sent
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_as_a_strict_model_sends(item, schema["items"], root) for item in value]
    return value


def _carries_caller_schema(arguments: dict[str, Any]) -> bool:
    response_format = arguments.get("response_format") or {}
    return "tools" in arguments or response_format.get("type") == "json_schema"


def test_openai_agents_as_an_mcp_host_in_strict_mode(server_env: dict[str, str]) -> None:
    """An Agent with `convert_schemas_to_strict` lists the tools through openai-agents' own MCP
    client; a tool it cannot convert still works, in non-strict mode."""

    async def strict_tools() -> dict[str, bool]:
        params = {"command": sys.executable, "args": list(SERVE), "env": server_env}
        with anyio.fail_after(60):
            async with MCPServerStdio(params=params, client_session_timeout_seconds=60) as server:
                agent = Agent(
                    name="judge", mcp_servers=[server], mcp_config={"convert_schemas_to_strict": True}
                )
                tools = await agent.get_mcp_tools(RunContextWrapper(context=None))
        return {tool.name: isinstance(tool, FunctionTool) and tool.strict_json_schema for tool in tools}

    # chat: its caller schemas (and, on this path, openai-agents 0.24 also refuses every bare `$ref`,
    # which is how pydantic writes chat's nested models). account: this path wants an object without
    # properties closed with `additionalProperties: false`, and google-genai's MCP support crashes on a
    # boolean `additionalProperties` (python-genai#2393), failing every tool of the server; with no
    # arguments to get wrong, account loses nothing in non-strict mode.
    assert anyio.run(strict_tools) == {
        "chat": False,
        "embed": True,
        "list_models": True,
        "get_model": True,
        "pick_model": True,
        "account": False,
    }


def test_out_of_range_values_are_refused_as_invalid_arguments(server_env: dict[str, str]) -> None:
    """The bounds that were exclusive (`gt=0`) are inclusive now, at the smallest sensible value; what
    lies below is still refused, in the house's shape, by a running server."""
    below = [("top_p", 0), ("top_p", 0.005), ("timeout_s", 0), ("timeout_s", 0.05), ("max_cost_usd", 0)]

    async def refusals() -> list[str]:
        texts = []
        parameters = StdioServerParameters(command=sys.executable, args=list(SERVE), env=server_env)
        with anyio.fail_after(60):
            async with Client(parameters) as client:
                for field, value in below:
                    result = await client.call_tool("chat", {"prompt": "hello", field: value})
                    assert result.is_error
                    texts.append("".join(getattr(block, "text", "") for block in result.content))
        return texts

    for (field, _), text in zip(below, anyio.run(refusals), strict=True):
        assert text.startswith("invalid_arguments: "), text
        assert field in text
