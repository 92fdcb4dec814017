"""Start `chutes-mcp serve --transport http` as a real process against the simulator."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mcp_support import server_env
from sim_process import SimProcess, start_process, stop_process

_LISTENING = re.compile(r"chutes-mcp serve: listening on (http://\S+)")


@dataclass(frozen=True)
class HttpServer:
    url: str  # the MCP endpoint, e.g. http://127.0.0.1:PORT/mcp
    log_lines: list[str] = field(default_factory=list)  # stderr, kept up to date
    process: subprocess.Popen[str] | None = None

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])


@contextmanager
def http_server(
    sim: SimProcess,
    cache_dir: Path,
    *args: str,
    preexec_fn: Callable[[], None] | None = None,
    **env: str,
) -> Iterator[HttpServer]:
    command = [sys.executable, "-m", "chutes_mcp", "serve", "--transport", "http", "--port", "0", *args]
    process, match, lines = start_process(
        command, _LISTENING, server_env(sim, cache_dir, **env), preexec_fn=preexec_fn
    )
    try:
        # A wildcard bind is reached through loopback, whose Host value is always allowed.
        yield HttpServer(match.group(1).replace("://0.0.0.0:", "://127.0.0.1:"), lines, process)
    finally:
        stop_process(process)
