"""State that replicas share: in Redis when `CHUTES_MCP_REDIS_URL` is set, in this process otherwise.

A leaf, like `config` and `log`: the Chutes client (rate limits and breakers per credential) and the
MCP server (cancel routing, the token-introspection cache) both build on it, and it imports neither.
`redis_store` is the connection and its outage policy; `cache` a small expiring key-value cache.
Import from the modules; this package re-exports nothing.
"""
