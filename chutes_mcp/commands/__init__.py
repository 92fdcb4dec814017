"""The work behind each CLI command; `chutes_mcp/cli.py` only parses and dispatches."""
