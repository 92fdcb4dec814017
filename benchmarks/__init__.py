"""Benchmarks of chutes-mcp against the Chutes simulator: `python -m benchmarks [--quick]`.

Every comparison runs side by side in one run: the MCP server (spawned, as hosts spawn it) against the
same request sent straight to the simulator, and against the SDK's own floor (`floor_server`, a bare
`MCPServer` with one no-op tool served the same way). Results are printed as a table and written as JSON
to `benchmarks/results/`. Timed assertions never go in the tests; they live here.
"""
