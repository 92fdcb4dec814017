"""Start `chutes-mcp serve --transport http` as a real process against the simulator."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mcp_support import server_env
from sim_process import SimProcess

_LISTENING = re.compile(r"chutes-mcp serve: listening on (http://\S+)")


@dataclass(frozen=True)
class HttpServer:
    url: str  # the MCP endpoint, e.g. http://127.0.0.1:PORT/mcp

    @property
    def base(self) -> str:
        return self.url.rsplit("/", 1)[0]


@contextmanager
def http_server(sim: SimProcess, cache_dir: Path, *args: str, **env: str) -> Iterator[HttpServer]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chutes_mcp", "serve", "--transport", "http", "--port", "0", *args],
        env=server_env(sim, cache_dir, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    url = None
    while url is None:
        line = process.stderr.readline()
        if not line or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("chutes-mcp serve did not start:\n" + "".join(lines))
        lines.append(line)
        match = _LISTENING.search(line)
        # A wildcard bind is reached through loopback, whose Host value is always allowed.
        url = match.group(1).replace("://0.0.0.0:", "://127.0.0.1:") if match else None
    threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True).start()
    try:
        yield HttpServer(url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
