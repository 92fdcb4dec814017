"""The MCP surface of chutes-mcp: tools, resources and prompts over the Chutes domain (`chutes_mcp.chutes`).

Thin by design: validate arguments, call the domain, shape the result.
"""

from chutes_mcp.server.app import create_server

__all__ = ["create_server"]
