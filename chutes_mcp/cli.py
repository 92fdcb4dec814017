"""The `chutes-mcp` command: parsing and wiring only; each command's work lives in its own module."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from chutes_mcp import __version__
from chutes_mcp.commands import (
    EXIT_INTERRUPTED,
    Subcommands,
    add_config_option,
    log_level,
    port,
    startup_finished,
    whole_number,
)


def _add_sim(sub: Subcommands) -> None:
    p = sub.add_parser(
        "sim",
        help="run the local Chutes simulator (offline, no credits spent)",
        description=(
            "Serve the Chutes HTTP contract on one loopback port: llm (/v1/models, /v1/chat/completions), "
            "embed (/embed/v1/embeddings), per-chute hosts (/chute/<slug>/v1/...), and api "
            "(/api/users/me, /api/idp/...). Faults are scripted with the X-Sim-Fault header or POST /_sim/scenario."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=8089, help="port to bind; 0 picks a free one (default 8089)")
    p.add_argument(
        "--catalog", metavar="FILE", help="a /v1/models JSON capture to serve instead of the bundled one"
    )
    p.add_argument("--seed", type=int, default=0, help="seed mixed into every generation (default 0)")
    p.add_argument("--ttft-ms", type=whole_number, default=0, help="time to first token in ms (default 0)")
    p.add_argument(
        "--tokens-per-s",
        type=whole_number,
        default=0,
        help="streaming speed; 0 means unthrottled (default 0)",
    )
    p.add_argument(
        "--log-level", type=log_level, default="INFO", help="DEBUG, INFO, WARNING or ERROR (default INFO)"
    )


def _add_login(sub: Subcommands) -> None:
    login = sub.add_parser(
        "login",
        help="sign in with Chutes (OAuth, PKCE) and store the tokens",
        description=(
            "Open the Chutes sign-in page, receive the redirect on CHUTES_OAUTH_REDIRECT_URI "
            "(default http://127.0.0.1:1456/oauth-callback) and store the tokens in a 0600 file in the user "
            "config directory. Needs CHUTES_CLIENT_ID. Without a browser, paste the redirect URL when asked."
        ),
    )
    login.add_argument("--no-browser", action="store_true", help="print the URL and ask for the redirect URL")
    logout = sub.add_parser("logout", help="revoke the stored Chutes sign-in and delete its token file")
    for p in (login, logout):
        add_config_option(p)


def build_parser() -> argparse.ArgumentParser:
    from chutes_mcp.commands import doctor as doctor_command
    from chutes_mcp.commands import models as model_commands
    from chutes_mcp.commands import server as server_commands

    parser = argparse.ArgumentParser(
        prog="chutes-mcp",
        description="Chutes (chutes.ai) for every MCP client: an MCP server, a CLI and an offline simulator.",
    )
    parser.add_argument("--version", action="version", version=f"chutes-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    server_commands.add_parsers(sub)
    _add_sim(sub)
    _add_login(sub)
    doctor_command.add_parser(sub)
    model_commands.add_parsers(sub)
    return parser


def _run_sim(args: argparse.Namespace) -> int:
    from chutes_mcp import log
    from chutes_mcp.sim.runner import SimOptions, run

    log.configure(args.log_level)
    startup_finished()
    return run(
        SimOptions(
            host=args.host,
            port=args.port,
            catalog_path=args.catalog,
            seed=args.seed,
            ttft_ms=args.ttft_ms,
            tokens_per_s=args.tokens_per_s,
        )
    )


def _lazy(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    """A command whose module is imported only when it is the one chosen (inside `main`'s pause)."""

    def run(args: argparse.Namespace) -> int:
        command: Callable[[argparse.Namespace], int] = getattr(
            importlib.import_module(f"chutes_mcp.commands.{module}"), function
        )
        return command(args)

    return run


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _lazy("server", "run_serve"),
    "call": _lazy("server", "run_call"),
    "doctor": _lazy("doctor", "run"),
    "sim": _run_sim,
    "login": _lazy("account", "run"),
    "logout": _lazy("account", "run"),
    "models": _lazy("models", "run_models"),
    "pick": _lazy("models", "run_pick"),
}


def main(argv: Sequence[str] | None = None) -> int:
    # Start-up (imports, the server's tool schemas) allocates ~150k objects that nearly all live as
    # long as the process; collecting while they pile up was ~10% of a cold start. A long-running
    # command resumes collection once it is ready (`startup_finished`), any other when it returns.
    # Hence the imports inside functions in this module: they run within the pause.
    gc.disable()
    try:
        from chutes_mcp import log

        # Before anything can log: every record, ours and the libraries', goes to stderr in one format.
        log.configure("WARNING")
        parser = build_parser()
        args = parser.parse_args(argv)
        command = _COMMANDS.get(args.command)
        if command is None:
            parser.print_help(sys.stderr)
            return 2
        return command(args)
    except KeyboardInterrupt:
        # The terminal has echoed ^C where the cursor was; the message starts on a line of its own.
        sys.stderr.write("\nchutes-mcp: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`chutes-mcp models | head`): nothing more to say to it. Python would
        # flush stdout again at exit and fail the same way, so it is pointed at the null device.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        return _crashed(exc)
    finally:
        gc.enable()


def _crashed(exc: Exception) -> int:
    """A bug of ours: one line that says so; the traceback only when DEBUG logging asks for it."""
    import logging
    import traceback

    from chutes_mcp import log

    if log.enabled(logging.DEBUG):
        traceback.print_exception(exc)
    sys.stderr.write(
        f"chutes-mcp: internal error ({type(exc).__name__}: {exc}); this is a bug, please report it "
        "(--log-level DEBUG or CHUTES_LOG_LEVEL=DEBUG shows the traceback)\n"
    )
    return 1
