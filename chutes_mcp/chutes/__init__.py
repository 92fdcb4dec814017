"""The Chutes domain and HTTP client. Never imports `mcp`.

By concern: `client` (every call to Chutes), `errors` (one error hierarchy), `types` (results and
stream events), and the subpackages `http` (the shared pool, SSE, error bodies), `resilience`
(retries, rate limiter, circuit breakers), `auth` (API key, Sign in with Chutes), `catalog` (the
models, their names and aliases, filters, the picker), `chat` (one chat call: request, plan,
failover, reasoning, cost) and `embeddings`. Import from the modules; this package re-exports nothing.
"""
