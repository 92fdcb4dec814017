"""Talking HTTP to Chutes: the shared connection pool and its credential guard, server-sent event
streams, and the typed errors read from failed responses."""
