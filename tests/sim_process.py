"""Start `chutes-mcp sim` as a real process on a free loopback port, the way users run it."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2

from chutes_mcp.sim.runner import SimURLs

_READY = re.compile(r"chutes-mcp sim: serving (http://\S+)")
START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SimProcess(SimURLs):
    process: subprocess.Popen[str]
    stderr_lines: list[str] = field(default_factory=list)

    def reset(self) -> None:
        httpx2.post(f"{self.url}/_sim/reset").raise_for_status()

    def stats(self) -> dict[str, Any]:
        response = httpx2.get(f"{self.url}/_sim/stats")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def stop(self) -> None:
        stop_process(self.process)


def start_process(
    command: list[str],
    ready: re.Pattern[str],
    env: dict[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> tuple[subprocess.Popen[str], re.Match[str], list[str]]:
    """Start `command` and wait until a stderr line matches `ready`; stderr keeps being drained after.

    `preexec_fn` runs in the child before it starts (to set a resource limit, say)."""
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        line = process.stderr.readline()
        if not line or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"{' '.join(command[2:])} did not start:\n" + "".join(lines))
        lines.append(line)
        match = ready.search(line)
        if match:
            break
    # Keep draining stderr so a chatty process can never block on a full pipe.
    threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True).start()
    return process, match, lines


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def sim_process(*args: str) -> Iterator[SimProcess]:
    command = [sys.executable, "-m", "chutes_mcp", "sim", "--port", "0", "--log-level", "WARNING", *args]
    process, match, lines = start_process(command, _READY)
    sim = SimProcess(url=match.group(1), process=process, stderr_lines=lines)
    try:
        yield sim
    finally:
        sim.stop()
