"""chutes-mcp: the Chutes inference platform as an MCP server, plus an offline Chutes simulator."""

__version__ = "0.1.0"
