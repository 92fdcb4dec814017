"""`chutes-mcp serve` and `chutes-mcp call`: the MCP server, and one tool call from a shell.

`--sim` on either starts the Chutes simulator in the same process and points the client at it, so
every tool works with no key and no network.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

import anyio

from chutes_mcp import log
from chutes_mcp.commands import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    Subcommands,
    log_level,
    port,
    positive_number,
    seconds,
    startup_finished,
)
from chutes_mcp.commands.context import add_chutes_options, chutes_settings, reporting_config_errors
from chutes_mcp.commands.terminal import Status, is_terminal
from chutes_mcp.config import Settings

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.types import CallToolResult

    from chutes_mcp.chutes.chat.failover import TextListener
    from chutes_mcp.server.shutdown import Shutdown
    from chutes_mcp.server.sign_in import ChutesSignIn
    from chutes_mcp.server.streamable_http import HttpOptions
    from chutes_mcp.shared.redis_store import RedisStore


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_chutes_options(parser)
    parser.add_argument(
        "--log-level",
        type=log_level,
        help="DEBUG, INFO, WARNING or ERROR (default: $CHUTES_LOG_LEVEL or WARNING)",
    )


def add_parsers(sub: Subcommands) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the MCP server (stdio, or streamable HTTP)",
        description=(
            "Run the chutes-mcp MCP server: over stdio for Claude Desktop, Claude Code, VS Code and Cursor, "
            "or over streamable HTTP for IDEs and teams (loopback by default; any other address needs "
            "bearer tokens, Sign in with Chutes or --no-auth). Over stdio it is meant to be started by an "
            "MCP client."
        ),
    )
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio", help="default stdio")
    http = serve.add_argument_group("streamable HTTP")
    http.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    http.add_argument(
        "--port", type=port, default=8000, help="port to bind; 0 picks a free one (default 8000)"
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
    http.add_argument(
        "--auth",
        choices=["chutes"],
        help="chutes: callers sign in with their Chutes account (OAuth; for remote connectors) and each "
        "call runs on it; default: $CHUTES_MCP_AUTH",
    )
    http.add_argument(
        "--public-url",
        metavar="URL",
        help="the URL clients reach the MCP endpoint at, e.g. https://mcp.example.com/mcp; needed by "
        "--auth chutes off loopback; default: $CHUTES_MCP_PUBLIC_URL",
    )
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
        "--max-body-bytes",
        type=positive_number,
        metavar="N",
        help="largest request body, images included (default 16 MiB)",
    )
    http.add_argument(
        "--max-connections",
        type=positive_number,
        metavar="N",
        help="connections served at once; past it, idle ones are closed and requests get 503 (default 2048)",
    )
    http.add_argument(
        "--header-timeout",
        type=seconds,
        metavar="SECONDS",
        help="time a connection has to send each request head, and the longest pause within a body, "
        "before it is closed (default 10)",
    )
    _add_common(serve)
    call = sub.add_parser(
        "call",
        help="call one tool: live output on a terminal, its structured result as JSON when piped",
        description=(
            "Run one tool through an in-process MCP client. On a terminal, chat streams its answer and "
            "the catalog tools print tables; piped (or with --json), the structured result is printed as "
            "JSON. Exit 0 on success, 1 on a tool error, 2 when the call cannot be made, 130 on Ctrl-C."
        ),
    )
    call.add_argument("tool", help="tool name: chat, embed, list_models, get_model, pick_model, account")
    call.add_argument("arguments", nargs="?", default="{}", help='JSON object of arguments (default "{}")')
    call.add_argument(
        "--json", action="store_true", help="print the structured result as JSON, also on a terminal"
    )
    call.add_argument(
        "--output", metavar="FILE", help="write the structured result (JSON) to FILE instead of stdout"
    )
    _add_common(call)


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
    auth = args.auth or settings.mcp_auth
    options = HttpOptions(
        host=args.host,
        port=args.port,
        path=args.path,
        auth_tokens=tuple(tokens),
        no_auth=args.no_auth,
        allowed_hosts=_comma_list(args.allowed_hosts),
        allowed_origins=_comma_list(args.allowed_origins),
        key_source=args.key_source,
        auth=auth,
        auth_issuer=settings.management_base if auth == "chutes" else None,
        public_url=args.public_url or settings.mcp_public_url,
        upstream_connections=settings.max_upstream_connections,
    )
    given = {
        name: value
        for name, value in (
            ("max_body_bytes", args.max_body_bytes),
            ("max_connections", args.max_connections),
            ("header_timeout_s", args.header_timeout),
        )
        if value is not None
    }
    return dataclasses.replace(options, **given)


def _built(
    settings: Settings,
    http: HttpOptions | None = None,
    sign_in: ChutesSignIn | None = None,
    answer_listener: TextListener | None = None,
    store: RedisStore | None = None,
    shutdown: Shutdown | None = None,
) -> MCPServer[Any]:
    """The server, once start-up is over: what it built lives as long as the process."""
    from chutes_mcp.server import create_server

    server = create_server(
        settings, http=http, sign_in=sign_in, answer_listener=answer_listener, store=store, shutdown=shutdown
    )
    startup_finished()
    return server


_STDIO_IN_A_TERMINAL = (
    "chutes-mcp serve: speaking MCP over stdio; an MCP client (Claude Desktop, Claude Code, VS Code, "
    "Cursor) starts it itself, see the README's Client setup. Ctrl-C stops it.\n"
)


def _stop_at_once(signum: int, frame: FrameType | None) -> None:
    # The SDK's stdio transport reads a terminal in a worker thread that only a line or Ctrl-D ends, and
    # an orderly exit waits for it: Ctrl-C would seem ignored. In a terminal no client is attached and
    # nothing is in flight that an exit could cut short.
    sys.stderr.write("\nchutes-mcp: interrupted\n")
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


_LONGEST_TOOL_TIMEOUT_S = 3600.0


async def _serve(args: argparse.Namespace) -> int | None:
    """Serve until the client hangs up or a signal stops the server; the signal, if one did."""
    from chutes_mcp.shared.redis_store import open_store

    async with chutes_settings(args) as settings:
        _configure_logging(args, settings)
        async with open_store(settings) as store:
            return await _serve_with(args, settings, store)


async def _serve_with(args: argparse.Namespace, settings: Settings, store: RedisStore | None) -> int | None:
    from chutes_mcp.server.shutdown import Shutdown

    shutdown = Shutdown()
    grace_s = settings.mcp_shutdown_grace_s
    if args.transport == "stdio":
        from chutes_mcp.server.stdio import serve_stdio

        server = _built(settings, store=store, shutdown=shutdown)
        stop_signals = [signal.SIGTERM, signal.SIGINT]
        if is_terminal(sys.stdin):
            stop_signals.remove(signal.SIGINT)
            signal.signal(signal.SIGINT, _stop_at_once)
            sys.stderr.write(_STDIO_IN_A_TERMINAL)
            sys.stderr.flush()
        return await serve_stdio(
            server, shutdown_grace_s=grace_s, shutdown=shutdown, stop_signals=stop_signals
        )
    from chutes_mcp.server.running_calls import open_running_calls
    from chutes_mcp.server.streamable_http import serve_http

    # Entries of running calls in Redis outlive the longest call: `chat`'s ceiling on `timeout_s`, or
    # the server's default when that is longer.
    longest = max(_LONGEST_TOOL_TIMEOUT_S, settings.timeout_s)
    async with open_running_calls(store, longest_call_s=longest) as calls:
        return await serve_http(
            _http_options(args, settings),
            lambda options, sign_in: _built(settings, options, sign_in, store=store, shutdown=shutdown),
            calls=calls,
            shutdown=shutdown,
            grace_s=grace_s,
        )


class _LiveAnswer:
    """Prints `chat`'s answer as it streams, ending the status line at the first piece."""

    def __init__(self, status: Status) -> None:
        self.status = status
        self.text: list[str] = []

    def __call__(self, piece: str) -> None:
        self.status.stop()
        self.text.append(piece)
        sys.stdout.write(piece)
        sys.stdout.flush()

    async def progress(self, progress: float, total: float | None, message: str | None) -> None:
        if message:
            # "12 tokens: …the answer so far" shows as "chat · 12 tokens": the answer itself streams below.
            self.status.label = f"{self.status.label.split(' · ')[0]} · {message.split(': …')[0]}"


def _command_line(args: argparse.Namespace) -> list[str]:
    """The command as typed, up to the arguments: for the next page's ready command."""
    command = ["chutes-mcp", "call", args.tool]
    if args.sim:
        command.append("--sim")
    if args.config:
        command += ["--config", args.config]
    return command


def _show(
    args: argparse.Namespace, arguments: dict[str, Any], result: CallToolResult, live: _LiveAnswer
) -> None:
    from chutes_mcp.commands import call_output

    structured = result.structured_content or {}
    streamed = "".join(live.text)
    if args.tool == "chat":
        call_output.chat_footer(structured, streamed, sys.stdout)
    elif args.tool == "embed":
        call_output.embed(structured, args.output, sys.stdout)
    elif args.tool in call_output.TABLES:
        call_output.TABLES[args.tool](structured, arguments, _command_line(args), sys.stdout)
    else:
        sys.stdout.write("".join(getattr(block, "text", "") for block in result.content) + "\n")


async def _call(args: argparse.Namespace, arguments: dict[str, Any], output: TextIO | None) -> int:
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    person = not args.json and is_terminal(sys.stdout)
    status = Status(args.tool)
    live = _LiveAnswer(status)
    async with chutes_settings(args) as settings:
        _configure_logging(args, settings)
        server = _built(settings, answer_listener=live if person and args.tool == "chat" else None)
        async with Client(server) as client, anyio.create_task_group() as spinner:
            if person:
                spinner.start_soon(status.run)
            try:
                result = await client.call_tool(
                    args.tool, arguments, progress_callback=live.progress if person else None
                )
            except MCPError as exc:
                sys.stderr.write(f"chutes-mcp call: {exc}\n")
                return EXIT_USAGE
            finally:
                status.stop()
    if result.is_error:
        text = "".join(getattr(block, "text", "") for block in result.content)
        if live.text and not live.text[-1].endswith("\n"):
            sys.stdout.write("\n")
        if not person or output is not None:
            (output or sys.stdout).write(text.rsplit("\n", 1)[-1] + "\n")  # the error's JSON object
        # The human lines: `code: message`, and its hint when on a terminal.
        lines = text.split("\n")
        sys.stderr.write("\n".join(lines[:2] if person else lines[:1]) + "\n")
        return 1
    if not person or output is not None:
        (output or sys.stdout).write(json.dumps(result.structured_content, indent=2) + "\n")
    if person:
        _show(args, arguments, result, live)
    return 0


def _event_loop(args: argparse.Namespace) -> dict[str, Any]:
    """anyio's options for the server's event loop: uvloop's (libuv) over HTTP, where one process relays
    hundreds of streams at once and asyncio's own loop spent about a third more CPU per call
    (benchmarks/ramp.py); asyncio's over stdio, and where uvloop does not exist (Windows)."""
    return {"use_uvloop": args.transport == "http" and sys.platform != "win32"}


def _serve_until_closed(args: argparse.Namespace) -> int:
    if anyio.run(_serve, args, backend_options=_event_loop(args)) == signal.SIGINT:
        # Stopped in order, its calls answered; still an interrupted command, as a shell counts it.
        sys.stderr.write("\nchutes-mcp: interrupted\n")
        return EXIT_INTERRUPTED
    return 0


def run_serve(args: argparse.Namespace) -> int:
    return reporting_config_errors("serve", lambda: _serve_until_closed(args))


def _open_output(path: str) -> TextIO | None:
    """The `--output` file, opened before the call so a bad path costs no tool call; None with a message."""
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        sys.stderr.write(f"chutes-mcp call: --output: cannot write {path}: {exc.strerror}\n")
        return None


def run_call(args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.arguments)
    except json.JSONDecodeError as exc:
        sys.stderr.write(
            f'chutes-mcp call: ARGUMENTS is not JSON ({exc}); give an object like \'{{"prompt": "hi"}}\'\n'
        )
        return EXIT_USAGE
    except RecursionError:
        sys.stderr.write(
            'chutes-mcp call: ARGUMENTS is nested too deeply to read; give an object like \'{"prompt": "hi"}\'\n'
        )
        return EXIT_USAGE
    if not isinstance(arguments, dict):
        sys.stderr.write('chutes-mcp call: ARGUMENTS must be a JSON object, e.g. \'{"prompt": "hi"}\'\n')
        return EXIT_USAGE
    output = _open_output(args.output) if args.output else None
    if args.output and output is None:
        return EXIT_USAGE
    try:
        return reporting_config_errors("call", lambda: anyio.run(_call, args, arguments, output))
    finally:
        if output is not None:
            output.close()
