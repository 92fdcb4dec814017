"""The processes a run needs: the simulator, our server and the floor server, spawned as users spawn them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mcp import StdioServerParameters

from chutes_mcp.sim.identity import demo_api_key

START_TIMEOUT_S = 30.0
_LOG_READ_BYTES = 1 << 20
API_KEY = demo_api_key()
BIN = Path(sys.executable).parent
_SIM_READY = re.compile(r"chutes-mcp sim: serving (http://\S+)")
_OURS_READY = re.compile(r"chutes-mcp serve: listening on (http://\S+)")
_FLOOR_READY = re.compile(r"floor-server: listening on (http://\S+)")


@dataclass(frozen=True)
class Spawned:
    url: str
    process: subprocess.Popen[str]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def _spawn(
    command: list[str], ready: re.Pattern[str], env: Mapping[str, str] | None = None
) -> Iterator[Spawned]:
    # stderr goes to a file, as a container's log driver takes it: a pipe that this (busy, single-threaded)
    # load generator drains would block a server's access log writes and stall its event loop.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        try:
            url = _wait_for(ready, log, process, command)
            yield Spawned(url, process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(
    ready: re.Pattern[str], log: IO[bytes], process: subprocess.Popen[str], command: list[str]
) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        # pread, not seek and read: the server writes at the file offset it shares with `log`, and a seek
        # back to 0 would put its next line over the ready line.
        text = os.pread(log.fileno(), _LOG_READ_BYTES, 0).decode(errors="replace")
        match = ready.search(text)
        if match:
            return match.group(1)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{command[2:4]} did not start:\n{text}")
        time.sleep(0.01)


@contextmanager
def simulator(*args: str) -> Iterator[Spawned]:
    """`chutes-mcp sim` on a free port; `url` is its root (`/v1`, `/_sim/...` below it)."""
    command = [sys.executable, "-m", "chutes_mcp", "sim", "--port", "0", "--log-level", "WARNING", *args]
    with _spawn(command, _SIM_READY) as sim:
        yield sim


def server_env(sim_url: str, cache_dir: Path) -> dict[str, str]:
    """The minimal environment an MCP host gives a server, pointed at the simulator, with the client-side
    rate limiter opened wide (its default of 60 requests a minute protects the real Chutes)."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(
        CHUTES_API_BASE=f"{sim_url}/v1",
        CHUTES_EMBED_BASE=f"{sim_url}/embed/v1",
        CHUTES_MANAGEMENT_BASE=f"{sim_url}/api",
        CHUTES_API_KEY=API_KEY,
        CHUTES_CACHE_DIR=str(cache_dir),
        CHUTES_RATE_LIMIT_RPM="100000000",
        CHUTES_RATE_LIMIT_BURST="1000000",
    )
    return env


def ours_stdio(env: Mapping[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=str(BIN / "chutes-mcp"), args=["serve"], env=dict(env))


def floor_stdio(env: Mapping[str, str]) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "benchmarks.floor_server"], env=dict(env), cwd=str(_ROOT)
    )


_ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def ours_http(env: Mapping[str, str]) -> Iterator[Spawned]:
    command = [str(BIN / "chutes-mcp"), "serve", "--transport", "http", "--port", "0"]
    with _spawn(command, _OURS_READY, env) as server:
        yield server


@contextmanager
def floor_http(env: Mapping[str, str]) -> Iterator[Spawned]:
    command = [sys.executable, "-m", "benchmarks.floor_server", "--transport", "http"]
    with _spawn(command, _FLOOR_READY, {**env, "PYTHONPATH": str(_ROOT)}) as server:
        yield server


def rss_mb(pid: int) -> float:
    """VmRSS of a process, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
