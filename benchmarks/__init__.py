"""What users of chutes-mcp feel, measured against the Chutes simulator: `python -m benchmarks [--quick]`.

Six sections, each against its baseline in the same run: (a) a realistic `chat` end to end through MCP
over stdio and HTTP against the same request made with `ChutesClient` directly; (b) the first upstream
token to the client's first progress notification; (c) the server's CPU per short call against the
direct client's; (d) cold start to `tools/list` against `mcp-server-time`; (e) the server's RSS growth
over many calls; (f) the ramp: 50 to 1,000 calls in flight through one process and through two
replicas behind nginx, against the ideal and against the simulator alone. Every process is spawned as users spawn it and driven through public surfaces only.
Results: a Markdown table on stdout, JSON in `benchmarks/results/`. Timed assertions never go in the
tests; they live here. PROFILE.md says how each is measured and how to profile.
"""
