"""`create_server`: the chutes-mcp MCP server, ready for any transport."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts import Prompt
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, EmptyResult, SetLevelRequestParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chutes_mcp import __version__, log
from chutes_mcp.config import Settings
from chutes_mcp.server.access_log import access_log, tool_call_fields
from chutes_mcp.server.autocomplete import register_completions
from chutes_mcp.server.error_results import INVALID_ARGUMENTS, error_payload, error_result
from chutes_mcp.server.instructions import INSTRUCTIONS
from chutes_mcp.server.param_headers import narrow_header_checks
from chutes_mcp.server.prompts import build_prompts, check_prompt_request
from chutes_mcp.server.resources import register_resources
from chutes_mcp.server.runtime_slot import RuntimeSlot, TenancyMode
from chutes_mcp.server.tool_schemas import shipped as shipped_tools
from chutes_mcp.server.toolkit import build_tool

if TYPE_CHECKING:
    from chutes_mcp.server.streamable_http import HttpOptions


class UnknownToolNameError(ValueError):
    pass


def _unknown_arguments(name: str, given: set[str], accepted: frozenset[str]) -> CallToolResult:
    return error_result(
        error_payload(
            INVALID_ARGUMENTS,
            f"{name} has no argument(s) {', '.join(sorted(given))}",
            f"Accepted arguments: {', '.join(sorted(accepted)) or 'none'}.",
        )
    )


def _request_guard(accepted: dict[str, frozenset[str]], prompts: Sequence[Prompt], slot: RuntimeSlot) -> Any:
    """One middleware for every request: tool calls and prompt requests checked, the runtime started."""
    prompts_by_name = {prompt.name: prompt for prompt in prompts}

    async def guard(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/list":
            result = await call_next(ctx)
            # The client has what it waited for at start; now the tools can load (see `runtime_slot`).
            slot.want()
            return result
        if ctx.method == "prompts/get" and ctx.params is not None:
            check_prompt_request(prompts_by_name, ctx.params)
        if ctx.method != "tools/call" or ctx.params is None:
            return await call_next(ctx)
        name = ctx.params.get("name")
        if not isinstance(name, str) or name not in accepted:
            # Both spec revisions make an unknown tool a protocol error; MCPServer alone would answer
            # with an isError result (python-sdk#3659).
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
        arguments = ctx.params.get("arguments")
        # A tool's model would silently ignore an argument it does not know (a misspelt `max_token`,
        # say), and the call would run on a default the caller never chose.
        extra = set(arguments) - accepted[name] if isinstance(arguments, dict) else set()
        if extra:
            return _unknown_arguments(name, extra, accepted[name])
        started = time.perf_counter()
        result = await call_next(ctx)
        if log.enabled(logging.INFO):  # not at stdio's default, WARNING: the line would be dropped
            _log_tool_call(ctx, name, result, started)
        return result

    return guard


def _log_tool_call(
    ctx: ServerRequestContext[Any, Any], name: str, result: HandlerResult, started: float
) -> None:
    """What ran, how it ended, on which model, at what cost: on the HTTP request's own log line, or
    (over stdio) on a line of its own with its latency."""
    fields: dict[str, Any] = {"tool": name}
    if isinstance(result, dict):
        structured = result.get("structuredContent") or {}
        fields["outcome"] = "error" if result.get("isError") else "ok"
        fields["model"] = structured.get("model_used") or structured.get("model")
        fields["cost_usd"] = structured.get("cost_usd")
        if result.get("isError"):
            fields["code"] = _error_code(result)
    request_fields = tool_call_fields(ctx.request)
    if request_fields is not None:
        request_fields.update(fields)
        return
    access_log.info("tool.call", **fields, latency_ms=round((time.perf_counter() - started) * 1000, 2))


def _error_code(result: dict[str, Any]) -> str | None:
    content = result.get("content") or [{}]
    code, _, _ = str(content[0].get("text", "")).partition(":")
    return code or None


def _health_routes(server: MCPServer[RuntimeSlot], slot: RuntimeSlot) -> None:
    # Probes come from load balancers and kubelets: no token, the pod IP as Host. The SDK serves
    # custom routes outside its auth and Host checks, which is what they need.
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        runtime = slot.current
        if runtime is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        view = await runtime.catalog.get()
        return JSONResponse({"status": "ready", "catalog": view.source, "models": len(view.models)})

    server.custom_route("/healthz", methods=["GET"], include_in_schema=False)(healthz)
    server.custom_route("/readyz", methods=["GET"], include_in_schema=False)(readyz)


def _accept_log_level(server: MCPServer[RuntimeSlot]) -> None:
    """Answer the 2025-era `logging/setLevel`, which MCPServer leaves unregistered.

    This server sends no log notifications (logging to clients is deprecated as of 2026-07-28; its
    logs go to stderr), so every level is already honoured; refusing the call would only break
    clients that set one during their handshake.
    """

    async def set_level(ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams) -> EmptyResult:
        access_log.debug("logging.set_level", level=params.level)
        return EmptyResult()

    server._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)


def _http_auth(http: HttpOptions | None) -> dict[str, Any]:
    """Bearer-token checking for HTTP with server tokens; imported only then, so stdio starts lighter."""
    if http is None or not http.auth_tokens:
        return {}
    from chutes_mcp.server.streamable_http import StaticTokenVerifier, auth_settings

    return {"token_verifier": StaticTokenVerifier(http.auth_tokens), "auth": auth_settings(http)}


def create_server(settings: Settings, *, http: HttpOptions | None = None) -> MCPServer[RuntimeSlot]:
    listing = shipped_tools()
    disabled = set(settings.disabled_tools)
    unknown = disabled - listing.keys()
    if unknown:
        raise UnknownToolNameError(
            f"CHUTES_DISABLED_TOOLS names unknown tools: {', '.join(sorted(unknown))}; "
            f"the tools are {', '.join(listing)}"
        )

    tenancy: TenancyMode = "server"
    if http is not None and http.key_source == "request":
        tenancy = "request" if http.auth_tokens else "request-bearer"
    # An HTTP server opens the runtime before it takes connections; stdio after the tool list (see runtime_slot).
    slot = RuntimeSlot(settings, tenancy=tenancy, eager=http is not None)

    @asynccontextmanager
    async def lifespan(_server: MCPServer[RuntimeSlot]) -> AsyncIterator[RuntimeSlot]:
        async with slot.serving():
            yield slot

    enabled = {name: tool for name, tool in listing.items() if name not in disabled}
    prompts = build_prompts(slot)
    server: MCPServer[RuntimeSlot] = MCPServer(
        "chutes-mcp",
        title="Chutes",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://chutes.ai",
        lifespan=lifespan,
        # Tools, resources and prompts are fixed at start: no list changes to listen for.
        subscriptions=False,
        tools=[build_tool(name, tool) for name, tool in enabled.items()],
        middleware=[
            _request_guard(
                {name: frozenset(tool["input"]["properties"]) for name, tool in enabled.items()},
                prompts,
                slot,
            )
        ],
        **_http_auth(http),
    )
    register_resources(server, slot)
    for prompt in prompts:
        server.add_prompt(prompt)
    register_completions(server, slot)
    _accept_log_level(server)
    if http is not None:
        narrow_header_checks(server)
        _health_routes(server, slot)
    return server
