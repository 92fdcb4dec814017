"""`create_server`: the chutes-mcp MCP server, ready for any transport."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, Prompt, SetLevelRequestParams
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chutes_mcp import __version__, log
from chutes_mcp.config import Settings
from chutes_mcp.server.access_log import access_log, tool_call_fields
from chutes_mcp.server.autocomplete import register_completions
from chutes_mcp.server.error_results import INVALID_ARGUMENTS, error_payload, error_result, house_error_code
from chutes_mcp.server.instructions import INSTRUCTIONS
from chutes_mcp.server.prompts import check_prompt_request, register_prompts
from chutes_mcp.server.resources import register_resources
from chutes_mcp.server.runtime import Runtime, TenancyMode, open_runtime
from chutes_mcp.server.shutdown import Shutdown
from chutes_mcp.server.toolkit import ToolSpec, add_tools, check_arguments, without_nulls
from chutes_mcp.server.tools import TOOLS

if TYPE_CHECKING:
    from chutes_mcp.chutes.chat.failover import TextListener
    from chutes_mcp.server.sign_in import ChutesSignIn
    from chutes_mcp.server.streamable_http import HttpOptions
    from chutes_mcp.shared.redis_store import RedisStore


class UnknownToolNameError(ValueError):
    pass


def _wire(result: CallToolResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _unknown_arguments(name: str, given: set[str], accepted: set[str]) -> dict[str, Any]:
    return _wire(
        error_result(
            error_payload(
                INVALID_ARGUMENTS,
                f"{name} has no argument(s) {', '.join(sorted(given))}",
                f"Accepted arguments: {', '.join(sorted(accepted)) or 'none'}.",
            )
        )
    )


def _in_house_shape(result: HandlerResult) -> HandlerResult:
    """The SDK's own refusal of a call's arguments (its model of them can refuse what the tool's
    model took) as an `invalid_arguments` error; every other result as it is."""
    if not isinstance(result, dict) or not result.get("isError"):
        return result
    text = "".join(str(block.get("text", "")) for block in result.get("content") or ())
    if house_error_code(text) is not None:
        return result
    return _wire(
        error_result(
            error_payload(INVALID_ARGUMENTS, text, "Fix the arguments named above and call the tool again.")
        )
    )


class _RequestGuard:
    """The server's one middleware: tool calls checked (unknown tools and arguments refused in the
    house's shape) and logged, prompt requests checked, and the 2025-era `logging/setLevel` answered."""

    def __init__(self, server: MCPServer[Runtime], tools: Mapping[str, ToolSpec[Any, Any]]) -> None:
        self._server = server
        self._tools = tools
        self._prompts: dict[str, Prompt] | None = None

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and ctx.params is not None:
            return await self._tool_call(ctx, call_next)
        if ctx.method == "prompts/get" and ctx.params is not None:
            check_prompt_request(await self._listed_prompts(), ctx.params)
        elif ctx.method == "logging/setLevel" and ctx.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS:
            # MCPServer leaves this 2025-era method unregistered, and has no public way to register it
            # (an Extension may not bind a spec method). This server sends no log notifications (its
            # logs go to stderr; logging to clients is deprecated as of 2026-07-28), so every level is
            # already honoured; refusing would only break clients that set one in their handshake.
            params = SetLevelRequestParams.model_validate(ctx.params or {})
            access_log.debug("logging.set_level", level=params.level)
            return {}
        return await call_next(ctx)

    async def _listed_prompts(self) -> dict[str, Prompt]:
        if self._prompts is None:
            self._prompts = {prompt.name: prompt for prompt in await self._server.list_prompts()}
        return self._prompts

    async def _tool_call(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params or {}
        name = params.get("name")
        spec = self._tools.get(name) if isinstance(name, str) else None
        if spec is None:
            # Both spec revisions make an unknown tool a protocol error; MCPServer alone would answer
            # with an isError result (python-sdk#3659).
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
        arguments = params.get("arguments")
        started = time.perf_counter()
        result: HandlerResult
        if isinstance(arguments, Mapping) and (extra := set(arguments) - spec.args.model_fields.keys()):
            result = _unknown_arguments(spec.name, extra, set(spec.args.model_fields))
        elif isinstance(arguments, Mapping) and (refusal := check_arguments(spec, arguments)) is not None:
            result = _wire(refusal)
        else:
            if (
                isinstance(arguments, Mapping)
                and (cleaned := without_nulls(spec, arguments)) is not arguments
            ):
                ctx = replace(ctx, params={**params, "arguments": cleaned})
            result = _in_house_shape(await call_next(ctx))
        if log.enabled(logging.INFO):  # not at stdio's default, WARNING: the line would be dropped
            _log_tool_call(ctx, spec.name, result, started)
        return result


def _log_tool_call(
    ctx: ServerRequestContext[Any, Any], name: str, result: HandlerResult, started: float
) -> None:
    """What ran, how it ended, on which model, at what cost: on the HTTP request's own log line, or
    (over stdio) on a line of its own with its latency."""
    fields: dict[str, Any] = {"tool": name}
    access_token = get_access_token()
    if access_token is not None and access_token.subject:
        # A signed-in user's call: whose it was (their Chutes name; never their token).
        fields["user"] = (access_token.claims or {}).get("username") or access_token.subject
    if isinstance(result, dict):
        structured = result.get("structuredContent") or {}
        fields["outcome"] = "error" if result.get("isError") else "ok"
        model = structured.get("model_used") or structured.get("model")
        # get_model's result describes the model whole: the line names it by its id.
        fields["model"] = model.get("id") if isinstance(model, Mapping) else model
        fields["cost_usd"] = structured.get("cost_usd")
        if result.get("isError"):
            content = result.get("content") or [{}]
            fields["code"] = house_error_code(str(content[0].get("text", "")))
    request_fields = tool_call_fields(ctx.request)
    if request_fields is not None:
        request_fields.update(fields)
        return
    access_log.info("tool.call", **fields, latency_ms=round((time.perf_counter() - started) * 1000, 2))


class _Serving:
    """The runtime of the running server, for the few handlers the SDK gives no request context."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def current(self) -> Runtime:
        if self.runtime is None:
            raise RuntimeError("the server is not serving: its lifespan has not started or has ended")
        return self.runtime


def _health_routes(server: MCPServer[Runtime], serving: _Serving, shutdown: Shutdown) -> None:
    # Probes come from load balancers and kubelets: no token, the pod IP as Host. The SDK serves
    # custom routes outside its auth and Host checks, which is what they need. A draining server is
    # alive (its calls are finishing) but takes no new requests.
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(request: Request) -> Response:
        runtime = serving.runtime
        if runtime is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        if shutdown.draining:
            return JSONResponse({"status": "draining", "calls": shutdown.running}, status_code=503)
        view = await runtime.catalog.get()
        ready: dict[str, Any] = {"status": "ready", "catalog": view.source, "models": len(view.models)}
        if runtime.store is not None:
            # Asked now, within its short timeout: the probe is also how an idle replica notices that
            # Redis came back. Without Redis a replica still serves, on its own limits: degraded, not
            # unready, so a Redis outage never takes every replica out of the Service.
            health = await runtime.store.check()
            ready["shared_state"] = health.document()
            if health.state != "ok":
                ready["status"] = "degraded"
        return JSONResponse(ready)

    server.custom_route("/healthz", methods=["GET"], include_in_schema=False)(healthz)
    server.custom_route("/readyz", methods=["GET"], include_in_schema=False)(readyz)


def _http_auth(http: HttpOptions | None, sign_in: ChutesSignIn | None) -> dict[str, Any]:
    if sign_in is not None:
        return {"token_verifier": sign_in.verifier, "auth": sign_in.auth_settings}
    if http is None or not http.auth_tokens:
        return {}
    from chutes_mcp.server.streamable_http import StaticTokenVerifier, auth_settings

    return {"token_verifier": StaticTokenVerifier(http.auth_tokens), "auth": auth_settings(http)}


def _enabled_tools(settings: Settings) -> dict[str, ToolSpec[Any, Any]]:
    disabled = set(settings.disabled_tools)
    unknown = disabled - TOOLS.keys()
    if unknown:
        raise UnknownToolNameError(
            f"CHUTES_DISABLED_TOOLS names unknown tools: {', '.join(sorted(unknown))}; "
            f"the tools are {', '.join(TOOLS)}"
        )
    return {name: spec for name, spec in TOOLS.items() if name not in disabled}


def create_server(
    settings: Settings,
    *,
    http: HttpOptions | None = None,
    sign_in: ChutesSignIn | None = None,
    answer_listener: TextListener | None = None,
    store: RedisStore | None = None,
    shutdown: Shutdown | None = None,
) -> MCPServer[Runtime]:
    """The chutes-mcp server; `sign_in` makes HTTP callers sign in with Chutes and run on their own
    account; `answer_listener` hears `chat`'s answer as it streams (an in-process caller's live
    display); `store` is the Redis the replicas share state through (opened by the caller, for as long
    as the server runs); `shutdown` is what the transport drains when it stops."""
    shutdown = shutdown or Shutdown()
    tools = _enabled_tools(settings)
    tenancy: TenancyMode = "server"
    if sign_in is not None:
        tenancy = "sign-in"
    elif http is not None and http.key_source == "request":
        tenancy = "request" if http.auth_tokens else "request-bearer"
    serving = _Serving()

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with open_runtime(
            settings, tenancy=tenancy, answer_listener=answer_listener, store=store
        ) as runtime:
            serving.runtime = runtime
            try:
                with (
                    sign_in.serving(runtime.introspector)
                    if sign_in is not None and runtime.introspector is not None
                    else nullcontext()
                ):
                    yield runtime
            finally:
                serving.runtime = None

    server: MCPServer[Runtime] = MCPServer(
        "chutes-mcp",
        title="Chutes",
        version=__version__,
        instructions=INSTRUCTIONS,
        website_url="https://chutes.ai",
        lifespan=lifespan,
        # Tools, resources and prompts are fixed at start: no list changes to listen for.
        subscriptions=False,
        **_http_auth(http, sign_in),
    )
    server.middleware.append(_RequestGuard(server, tools))
    add_tools(server, tools, shutdown)
    register_resources(server, serving.current)
    register_prompts(server)
    register_completions(server, serving.current)
    if http is not None:
        _health_routes(server, serving, shutdown)
    return server
