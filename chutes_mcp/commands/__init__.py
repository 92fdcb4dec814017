"""The work behind each CLI command; `chutes_mcp/cli.py` only parses and dispatches."""

import argparse


def add_config_option(parser: argparse.ArgumentParser) -> None:
    """`--config FILE`, for every command that reads the settings."""
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (default: $CHUTES_MCP_CONFIG)")
