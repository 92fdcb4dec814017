"""The Chutes domain and HTTP client. Never imports `mcp`.

Import from the submodules (`chutes_mcp.chutes.client`, `.errors`, ...). This package re-exports
nothing, so a module that needs one piece (the server's error mapping needs only the error types)
does not load the whole domain: the stdio server answers `tools/list` before it imports the rest.
"""
