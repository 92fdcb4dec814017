"""Staying within what Chutes tolerates: retries with backoff, the request rate limiter, and per-model
circuit breakers."""
