"""Real servers from the system's packages (Debian's tinyproxy, redis-server, nginx), started on free
loopback ports for the tests that need them.

CI installs the packages (`.ci/run`) and sets CHUTES_MCP_REQUIRE_SYSTEM_SERVERS=1, so a missing one
fails there; on a developer's machine without them, those tests are skipped and say what to install.
The ramp benchmark (`benchmarks/ramp.py`) starts Redis and nginx with the same functions, without
pytest, once it has found the binaries itself.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sim_process import stop_process

START_TIMEOUT_S = 10.0


def require(command: str, package: str) -> str:
    path = shutil.which(command)
    if path is None:
        message = f"{command} is not installed (Debian package {package}: apt-get install {package})"
        import pytest  # here, not at the top: the benchmarks import this module without pytest

        if os.environ.get("CHUTES_MCP_REQUIRE_SYSTEM_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it listened")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on {port} within {START_TIMEOUT_S} s")


@dataclass
class ForwardProxy:
    """tinyproxy, logging each request it forwards (a line per request, CONNECT included)."""

    url: str
    log: Path

    def requests(self) -> list[str]:
        """What the proxy was asked, e.g. 'GET http://127.0.0.1:8089/v1/models HTTP/1.1'."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return [line.split("): ", 1)[1] for line in lines if "Request (file descriptor" in line]


@contextmanager
def forward_proxy(directory: Path, basic_auth: tuple[str, str] | None = None) -> Iterator[ForwardProxy]:
    """tinyproxy on a free port; with `basic_auth` (user, password) it answers 407 to anyone else."""
    binary = require("tinyproxy", "tinyproxy")
    port = free_port()
    log = directory / "tinyproxy.log"
    config = directory / "tinyproxy.conf"
    config.write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 100\nAllow 127.0.0.1\n"
        f'LogFile "{log}"\nLogLevel Connect\nDisableViaHeader Yes\n'
        + (f"BasicAuth {basic_auth[0]} {basic_auth[1]}\n" if basic_auth else "")
    )
    process = subprocess.Popen(
        [binary, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process, "tinyproxy")
        yield ForwardProxy(f"http://127.0.0.1:{port}", log)
    finally:
        stop_process(process)


class RedisServer:
    """redis-server on a free loopback port, in memory only; it can be killed and started again on the
    same port, as an outage and a recovery look to its clients."""

    def __init__(self, directory: Path) -> None:
        self.binary = require("redis-server", "redis-server")
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            *("--logfile", str(self.directory / "redis.log")),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process, "redis-server")

    def kill(self) -> None:
        """SIGKILL: no goodbye to its clients, as when its machine goes away."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


UPSTREAM_HEADER = "x-upstream"


@dataclass
class LoadBalancer:
    """nginx balancing round-robin over HTTP servers; every response names the server that answered
    in the X-Upstream header."""

    url: str
    log: Path
    pid: int


@contextmanager
def load_balancer(
    directory: Path, upstreams: list[str], *, worker_connections: int = 1024, keepalive: int = 32
) -> Iterator[LoadBalancer]:
    """nginx in the foreground, one process, with a generated config: not the system's service.
    `worker_connections` bounds client and upstream connections together; `keepalive` is the idle
    connections to the replicas it keeps."""
    binary = require("nginx", "nginx")
    port = free_port()
    servers = "\n".join(f"        server {upstream} max_fails=0;" for upstream in upstreams)
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = directory / "nginx.conf"
    config.write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
worker_rlimit_nofile {2 * worker_connections + 64};
events {{ worker_connections {worker_connections}; }}
http {{
    access_log {directory / "access.log"};
{temp}
    upstream replicas {{
{servers}
        keepalive {keepalive};
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 32m;
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            # Streams pass as they come; a request is never sent to a second replica.
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
            proxy_next_upstream off;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, "nginx")
        yield LoadBalancer(f"http://127.0.0.1:{port}", directory / "access.log", process.pid)
    finally:
        stop_process(process)
