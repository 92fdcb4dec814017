"""The work behind each CLI command; `chutes_mcp/cli.py` only parses and dispatches."""

import argparse
import gc
from typing import Any, Protocol

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
EXIT_USAGE = 2
"""A command line or a setting that cannot work as given: the message names it and the accepted form."""
EXIT_INTERRUPTED = 130
"""Ctrl-C, as shells report a process ended by SIGINT (128 + 2)."""


class Subcommands(Protocol):
    """What `ArgumentParser.add_subparsers()` returns, as far as the commands use it (argparse names its
    class only privately)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser: ...


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """`--config FILE`, for every command that reads the settings."""
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (default: $CHUTES_MCP_CONFIG)")


def startup_finished() -> None:
    """Resume the garbage collection that `chutes_mcp.cli.main` pauses while a command starts.

    What start-up built lives as long as the process; frozen, it is never walked by a collection again.
    """
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


# Argument types: a bad value is argparse's usage error (exit 2), naming the flag and the accepted form.


def whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def positive_number(text: str) -> int:
    value = whole_number(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected 1 or more, got 0")
    return value


def seconds(text: str) -> float:
    """A duration above 0 and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"expected more than 0 and at most 3600 seconds, got {text}")
    return value


def port(text: str) -> int:
    value = whole_number(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"expected a port between 0 and 65535, got {value}")
    return value


def log_level(text: str) -> str:
    """A `--log-level` value, in any case."""
    level = text.upper()
    if level not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"expected DEBUG, INFO, WARNING or ERROR, got {text!r}")
    return level
