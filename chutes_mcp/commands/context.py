"""What every command that talks to Chutes shares: `--config`, `--sim`, and the settings they give.

`--sim` starts the Chutes simulator inside the command's own event loop and points the settings at
it, so the command works with no key, no network and no credits spent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from chutes_mcp.commands import EXIT_USAGE, add_config_option
from chutes_mcp.config import ConfigError, Settings, load_settings

# Stands in for the simulator's address while the settings are checked before it starts.
_PLACEHOLDER_URL = "http://127.0.0.1:9"


def add_chutes_options(parser: argparse.ArgumentParser) -> None:
    add_config_option(parser)
    parser.add_argument(
        "--sim",
        action="store_true",
        help="run against an embedded Chutes simulator: no key, no network, no credits",
    )


def _sim_overrides(url: str, cache_dir: str) -> dict[str, Any]:
    from chutes_mcp.sim.identity import demo_api_key

    return {
        "api_base": f"{url}/v1",
        "embed_base": f"{url}/embed/v1",
        "management_base": f"{url}/api",
        "api_key": demo_api_key(),
        "oauth_token": None,
        "cache_dir": cache_dir,
    }


@asynccontextmanager
async def chutes_settings(args: argparse.Namespace) -> AsyncIterator[Settings]:
    """The settings, pointed at an embedded simulator for the duration when `--sim` is given."""
    if not args.sim:
        yield load_settings(args.config)
        return
    from chutes_mcp.sim.runner import SimOptions, running

    # A throwaway cache: the simulator's catalog must never pass for the real one later.
    with tempfile.TemporaryDirectory(prefix="chutes-mcp-sim-") as cache_dir:
        # Checked before the simulator starts: a bad setting then surfaces as itself, not wrapped in
        # the exception group of the simulator's task group.
        load_settings(args.config, **_sim_overrides(_PLACEHOLDER_URL, cache_dir))
        async with running(SimOptions(port=0), quiet=True) as sim:
            yield load_settings(args.config, **_sim_overrides(sim.url, cache_dir))


def _startup_error(exc: BaseException) -> Exception | None:
    """The configuration problem behind `exc`, if that is what it is.

    Under `--sim` the run happens inside the embedded simulator's task group, which wraps whatever
    the body raises in an exception group; unwrap it so a bad setting is a message, not a traceback.
    """
    from chutes_mcp.server.app import UnknownToolNameError
    from chutes_mcp.server.streamable_http import HttpConfigError

    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, ConfigError | UnknownToolNameError | HttpConfigError) else None


def reporting_config_errors(command: str, run: Callable[[], int]) -> int:
    """`run()`, with a configuration problem reported on stderr as exit code 2."""
    try:
        return run()
    except Exception as exc:
        problem = _startup_error(exc)
        if problem is None:
            raise
        sys.stderr.write(f"chutes-mcp {command}: {problem}\n")
        return EXIT_USAGE
