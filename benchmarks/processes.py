"""The processes of a run, spawned as users spawn them, and what /proc says about them."""

from __future__ import annotations

import ctypes
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mcp import StdioServerParameters

from chutes_mcp.sim.identity import demo_api_key

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 30.0
SERVE = [sys.executable, "-m", "chutes_mcp", "serve"]
_LOG_READ_BYTES = 1 << 20
_SIM_READY = re.compile(r"chutes-mcp sim: serving (http://\S+)")
_SERVER_READY = re.compile(r"chutes-mcp serve: listening on (http://\S+)")
_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Spawned:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def spawn(
    command: list[str], ready: re.Pattern[str], env: Mapping[str, str] | None = None
) -> Iterator[Spawned]:
    """Start `command` in the repository root and wait for `ready` on its stderr; its first group is
    the URL. stderr goes to a file, as a container's log driver takes it: a pipe that nobody drains
    while the bench is busy would block the process's log writes and stall its event loop."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            env=dict(env) if env is not None else None,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            yield Spawned(_wait_for(ready, log, process, command), process)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(
    ready: re.Pattern[str], log: IO[bytes], process: subprocess.Popen[bytes], command: list[str]
) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        # pread, not seek and read: the child writes at the offset it shares with `log`.
        text = os.pread(log.fileno(), _LOG_READ_BYTES, 0).decode(errors="replace")
        match = ready.search(text)
        if match:
            return match.group(1)
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{' '.join(command)} did not start:\n{text}")
        time.sleep(0.01)


@contextmanager
def simulator() -> Iterator[Spawned]:
    """`python -m chutes_mcp sim` on a free port; its pacing is set per section through `/_sim/config`."""
    command = [sys.executable, "-m", "chutes_mcp", "sim", "--port", "0", "--log-level", "WARNING"]
    with spawn(command, _SIM_READY) as sim:
        yield sim


def server_env(upstream: str, cache_dir: Path) -> dict[str, str]:
    """The minimal environment an MCP host gives a server, pointed at `upstream` (the simulator, or the
    tap in front of it), with the client-side rate limiter opened wide (its default of 60 requests a
    minute protects the real Chutes). The direct client reads the same settings."""
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env.update(
        CHUTES_API_BASE=f"{upstream}/v1",
        CHUTES_EMBED_BASE=f"{upstream}/embed/v1",
        CHUTES_MANAGEMENT_BASE=f"{upstream}/api",
        CHUTES_API_KEY=demo_api_key(),
        CHUTES_CACHE_DIR=str(cache_dir),
        CHUTES_RATE_LIMIT_RPM="100000000",
        CHUTES_RATE_LIMIT_BURST="1000000",
    )
    return env


def server_stdio(env: Mapping[str, str]) -> StdioServerParameters:
    return StdioServerParameters(command=SERVE[0], args=SERVE[1:], env=dict(env))


@contextmanager
def server_http(env: Mapping[str, str]) -> Iterator[Spawned]:
    with spawn([*SERVE, "--transport", "http", "--port", "0"], _SERVER_READY, env) as server:
        yield server


def stdio_server_pids(command: Sequence[str] = SERVE) -> set[int]:
    """Our children whose command line is exactly `command` (by default `python -m chutes_mcp serve`):
    the stdio servers that `mcp.Client` spawned (the SDK does not expose their pids)."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            cmdline = (entry / "cmdline").read_bytes().decode().split("\0")[:-1]
        except (OSError, IndexError):
            continue
        if ppid == me and cmdline == list(command):
            found.add(int(entry.name))
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU time of a whole process (every thread, finished ones too), in seconds, to the
    nanosecond: the kernel's CPU-time clock of that process (clock_getcpuclockid(3)). /proc/<pid>/stat
    says the same in 10 ms ticks."""
    clock = ctypes.c_int()
    error = _LIBC.clock_getcpuclockid(pid, ctypes.byref(clock))
    if error:
        raise OSError(error, f"clock_getcpuclockid({pid}): {os.strerror(error)}")
    return time.clock_gettime(clock.value)


def rss_mb(pid: int) -> float:
    """VmRSS of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
