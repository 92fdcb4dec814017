"""The work behind each CLI command; `chutes_mcp/cli.py` only parses and dispatches."""

import argparse
import gc
from typing import Any, Protocol


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
