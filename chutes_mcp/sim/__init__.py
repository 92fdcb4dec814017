"""A local Chutes simulator: the Chutes HTTP contract, quirks included, on one loopback port.

It is an independent implementation of `shared/reference/chutes-api.md` and imports nothing of the
client package or the server: a simulator that shared code with the client would only
agree with it, and hide the bugs users hit against the real service.
"""

from chutes_mcp.sim.app import create_app
from chutes_mcp.sim.state import SimOptions, SimState

__all__ = ["SimOptions", "SimState", "create_app"]
