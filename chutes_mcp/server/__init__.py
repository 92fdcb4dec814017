"""The MCP surface of chutes-mcp: tools, resources and prompts over the Chutes domain (`chutes_mcp.chutes`).

Thin by design: validate arguments, call the domain, shape the result. `app` builds the server
(`create_server`); `toolkit` and `tools/` declare the tools; `resources`, `prompts` and
`autocomplete` the rest of the surface; `runtime` is the state the lifespan opens; `stdio` and
`streamable_http` are the transports.
"""

from chutes_mcp.server.app import create_server

__all__ = ["create_server"]
