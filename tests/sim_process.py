"""Start `chutes-mcp sim` as a real process on a free loopback port, the way users run it."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
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
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def sim_process(*args: str) -> Iterator[SimProcess]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chutes_mcp", "sim", "--port", "0", "--log-level", "WARNING", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + START_TIMEOUT_S
    url = None
    while url is None:
        line = process.stderr.readline()
        if not line:
            raise RuntimeError("chutes-mcp sim exited before serving:\n" + "".join(lines))
        lines.append(line)
        match = _READY.search(line)
        if match:
            url = match.group(1)
        elif time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("chutes-mcp sim did not start in time:\n" + "".join(lines))
    sim = SimProcess(url=url, process=process, stderr_lines=lines)
    # Keep draining stderr so a chatty simulator can never block on a full pipe.
    threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True).start()
    try:
        yield sim
    finally:
        sim.stop()
