"""`chutes-mcp serve` and `chutes-mcp call`: the MCP server, and one tool call from a shell.

`--sim` on either starts the Chutes simulator in the same process and points the client at it, so
every tool works with no key and no network.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

import anyio

from chutes_mcp import log
from chutes_mcp.commands import Subcommands, add_config_option, startup_finished
from chutes_mcp.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from chutes_mcp.server.streamable_http import HttpOptions


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument(
        "--sim",
        action="store_true",
        help="run against an embedded Chutes simulator: no key, no network, no credits",
    )
    parser.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: $CHUTES_LOG_LEVEL or WARNING",
    )


def add_parsers(sub: Subcommands) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the MCP server (stdio, or streamable HTTP)",
        description=(
            "Run the chutes-mcp MCP server: over stdio for Claude Desktop, Claude Code, VS Code and Cursor, "
            "or over streamable HTTP for IDEs and teams (loopback by default; any other address needs "
            "bearer tokens or --no-auth)."
        ),
    )
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default stdio")
    http = serve.add_argument_group("streamable HTTP")
    http.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    http.add_argument(
        "--port", type=int, default=8000, help="port to bind; 0 picks a free one (default 8000)"
    )
    http.add_argument("--path", default="/mcp", help="endpoint path (default /mcp)")
    http.add_argument(
        "--auth-token",
        action="append",
        default=[],
        metavar="TOKEN",
        help="bearer token clients must send (repeat to rotate); default: $CHUTES_MCP_AUTH_TOKENS",
    )
    http.add_argument("--no-auth", action="store_true", help="serve a non-loopback address without tokens")
    http.add_argument("--allowed-hosts", default="", help="extra Host values, comma list, `host:*` patterns")
    http.add_argument(
        "--allowed-origins", default="", help="extra Origin values, comma list, `scheme://host:*`"
    )
    http.add_argument(
        "--key-source",
        choices=["server", "request"],
        default="server",
        help="whose Chutes key: the server's, or each request's X-Chutes-Api-Key (default server)",
    )
    http.add_argument(
        "--max-body-bytes", type=int, help="largest request body, images included (default 16 MiB)"
    )
    _add_common(serve)
    call = sub.add_parser(
        "call",
        help="call one tool and print its structured result as JSON",
        description="Run one tool through an in-process MCP client; exit 0 on success, 1 on a tool error.",
    )
    call.add_argument("tool", help="tool name, e.g. chat, list_models, pick_model")
    call.add_argument("arguments", nargs="?", default="{}", help='JSON object of arguments (default "{}")')
    _add_common(call)


@asynccontextmanager
async def _settings(args: argparse.Namespace) -> AsyncIterator[Settings]:
    """The settings, pointed at an embedded simulator for the duration when `--sim` is given."""
    if not args.sim:
        yield load_settings(args.config)
        return
    from chutes_mcp.sim.identity import demo_api_key
    from chutes_mcp.sim.runner import SimOptions, running

    async with running(SimOptions(port=0)) as sim:
        # A throwaway cache: the simulator's catalog must never pass for the real one later.
        with tempfile.TemporaryDirectory(prefix="chutes-mcp-sim-") as cache_dir:
            yield load_settings(
                args.config,
                api_base=sim.llm_base,
                embed_base=sim.embed_base,
                management_base=sim.management_base,
                api_key=demo_api_key(),
                oauth_token=None,
                cache_dir=cache_dir,
            )


def _configure_logging(args: argparse.Namespace, settings: Settings) -> None:
    level = args.log_level or settings.log_level
    if (
        getattr(args, "transport", "stdio") == "http"
        and not args.log_level
        and "log_level" not in settings.model_fields_set
    ):
        # A hosted server's access log is its record of who called what, at what cost: on by default.
        level = "INFO"
    log.configure(level, settings.log_format)


def _comma_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _http_options(args: argparse.Namespace, settings: Settings) -> HttpOptions:
    from chutes_mcp.server.streamable_http import HttpOptions

    tokens = args.auth_token or [token.get_secret_value() for token in settings.mcp_auth_tokens]
    options = HttpOptions(
        host=args.host,
        port=args.port,
        path=args.path,
        auth_tokens=tuple(tokens),
        no_auth=args.no_auth,
        allowed_hosts=_comma_list(args.allowed_hosts),
        allowed_origins=_comma_list(args.allowed_origins),
        key_source=args.key_source,
    )
    if args.max_body_bytes is None:
        return options
    return dataclasses.replace(options, max_body_bytes=args.max_body_bytes)


def _built(settings: Settings, http: HttpOptions | None = None) -> MCPServer[Any]:
    """The server, once start-up is over: what it built lives as long as the process."""
    from chutes_mcp.server import create_server

    server = create_server(settings, http=http)
    startup_finished()
    return server


async def _serve(args: argparse.Namespace) -> None:
    from chutes_mcp.server.stdio import serve_stdio

    async with _settings(args) as settings:
        _configure_logging(args, settings)
        if args.transport == "stdio":
            await serve_stdio(_built(settings), shutdown_grace_s=settings.mcp_shutdown_grace_s)
            return
        from chutes_mcp.server.streamable_http import serve_http

        options = _http_options(args, settings)
        await serve_http(_built(settings, options), options)


async def _call(args: argparse.Namespace, arguments: dict[str, Any]) -> int:
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    async with _settings(args) as settings:
        _configure_logging(args, settings)
        async with Client(_built(settings)) as client:
            try:
                result = await client.call_tool(args.tool, arguments)
            except MCPError as exc:
                sys.stderr.write(f"chutes-mcp call: {exc}\n")
                return 2
    if result.is_error:
        text = "".join(getattr(block, "text", "") for block in result.content)
        sys.stdout.write(text.rsplit("\n", 1)[-1] + "\n")  # the error's JSON object
        sys.stderr.write(text.split("\n", 1)[0] + "\n")
        return 1
    sys.stdout.write(json.dumps(result.structured_content, indent=2) + "\n")
    return 0


def _startup_error(exc: BaseException) -> Exception | None:
    """The configuration problem behind `exc`, if that is what it is.

    Under `--sim` the run happens inside the embedded simulator's task group, which wraps whatever
    the body raises in an exception group; unwrap it so a bad setting is a message, not a traceback.
    """
    from chutes_mcp.server.app import UnknownToolNameError
    from chutes_mcp.server.streamable_http import HttpConfigError

    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, ConfigError | UnknownToolNameError | HttpConfigError) else None


def _reporting_config_errors(command: str, run: Callable[[], int]) -> int:
    """`run()`, with a configuration problem reported on stderr as exit code 2."""
    try:
        return run()
    except Exception as exc:
        problem = _startup_error(exc)
        if problem is None:
            raise
        sys.stderr.write(f"chutes-mcp {command}: {problem}\n")
        return 2


def _serve_until_closed(args: argparse.Namespace) -> int:
    with suppress(KeyboardInterrupt):
        anyio.run(_serve, args)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    return _reporting_config_errors("serve", lambda: _serve_until_closed(args))


def run_call(args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        sys.stderr.write(
            f'chutes-mcp call: ARGUMENTS is not JSON ({exc}); give an object like \'{{"prompt": "hi"}}\'\n'
        )
        return 2
    if not isinstance(arguments, dict):
        sys.stderr.write('chutes-mcp call: ARGUMENTS must be a JSON object, e.g. \'{"prompt": "hi"}\'\n')
        return 2
    return _reporting_config_errors("call", lambda: anyio.run(_call, args, arguments))
