"""`chutes-mcp serve --transport http` at its edges, on raw sockets: connections that ask for nothing or
dribble their head, heads without end, more connections than descriptors, the connection cap, GETs,
and Host and Origin values in a form the allow-lists must not take."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx2
import pytest
from http_support import HttpServer, http_server
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from sim_process import SimProcess

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="counts descriptors in /proc")

MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
# Every wait on the server is bounded by this, so a regression fails instead of hanging.
GUARD_S = 30.0


def client_connections(server: HttpServer) -> int:
    """How many descriptors the server holds for connections to its port (its listener aside): the
    upstream pool's connections to the simulator come and go on their own."""
    assert server.process is not None
    pid = server.process.pid
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    count = 0
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/net/{table}") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                listening = fields[3] == "0A"
                if local_port == server.port and not listening and fields[9] in inodes:
                    count += 1
    return count


def wait_until(predicate: Callable[[], bool], what: str, timeout_s: float = GUARD_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def read_to_end(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (bounded by the guard)."""
    sock.settimeout(GUARD_S)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_connections_that_never_finish_a_request_are_closed(sim: SimProcess, tmp_path: Path) -> None:
    # 50 sockets that send nothing, 5 that send a head a byte at a time, for ever, and 5 that stop in
    # the middle of a body: each is closed once the header timeout is over, the silent ones without a
    # word, the slow heads with a 408.
    with http_server(sim, tmp_path, "--header-timeout", "1") as server:
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
        slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
        stalled = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
        for sock in stalled:
            sock.sendall(
                b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b'accept: application/json, text/event-stream\r\ncontent-length: 100\r\n\r\n{"jsonrpc"'
            )
        answers = dict.fromkeys(slow, b"")
        open_slow = set(slow)
        deadline = time.monotonic() + GUARD_S
        for sock in slow:
            sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        while open_slow:
            assert time.monotonic() < deadline, "slow heads were never cut off"
            for sock in list(open_slow):
                try:
                    sock.sendall(b"x")
                except OSError:
                    open_slow.discard(sock)
            readable, _, _ = select.select(list(open_slow), [], [], 0.2)
            for sock in readable:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    chunk = b""
                answers[sock] += chunk
                if not chunk:
                    open_slow.discard(sock)
        silent = [read_to_end(sock) for sock in idle + stalled]
        wait_until(lambda: client_connections(server) == 0, "the descriptors to be given back")
        for sock in idle + slow + stalled:
            sock.close()
    assert silent == [b""] * 55
    for answer in answers.values():
        assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
        assert b"request head not complete within 1 s" in answer


def _limit_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_healthz_answers_beside_400_idle_sockets_on_256_descriptors(sim: SimProcess, tmp_path: Path) -> None:
    # More idle sockets than the process may open: a header timeout of an hour rules the timeout out,
    # so what keeps the server answering is its connection budget (the connections that waited longest
    # make room), and accept failures do not flood the log.
    with http_server(
        sim, tmp_path, "--header-timeout", "3600", preexec_fn=_limit_descriptors, CHUTES_LOG_LEVEL="INFO"
    ) as server:
        logged_before = len(server.log_lines)
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=GUARD_S) for _ in range(400)]
        try:
            health = httpx2.get(f"{server.base}/healthz", timeout=GUARD_S)
            ping = httpx2.post(server.url, json=PING, headers=MCP_HEADERS, timeout=GUARD_S)
        finally:
            for sock in idle:
                sock.close()
        logged = server.log_lines[logged_before:]
    assert health.status_code == 200, health.text
    assert ping.status_code == 200, ping.text
    text = "".join(logged)
    assert "Traceback" not in text
    assert len(logged) < 20, text[:3000]
    assert any("http.connections_full" in line for line in logged), text[:3000]
    limited = next(line for line in server.log_lines if "http.connections_limited" in line)
    assert "open_file_limit=256" in limited
    # What is left beside the reserve is shared with the upstream pool, not all given to it: a relayed
    # call holds one connection on each side.
    allowed = int(re.search(r"\bmax_connections=(\d+)", limited).group(1))  # type: ignore[union-attr]
    assert 32 <= allowed < 128, limited


def chats_upstream(sim: SimProcess, count: int) -> Callable[[], bool]:
    """Whether the simulator has seen `count` chat requests."""
    return lambda: sim.stats()["requests"].get("chat", {}).get("total", 0) >= count


def test_past_the_connection_cap_a_request_gets_a_503_it_can_read(sim: SimProcess, tmp_path: Path) -> None:
    httpx2.patch(f"{sim.url}/_sim/config", json={"ttft_ms": 60_000}).raise_for_status()
    with http_server(sim, tmp_path, "--max-connections", "2") as server:

        async def two_slow_chats_then_one_more() -> tuple[httpx2.Response, httpx2.Response]:
            async with (
                httpx2.AsyncClient(timeout=GUARD_S) as http,
                Client(streamable_http_client(server.url, http_client=http), mode="legacy") as client,
                anyio.create_task_group() as chats,
            ):
                for _ in range(2):
                    chats.start_soon(client.call_tool, "chat", {"prompt": "hi"})
                await anyio.to_thread.run_sync(
                    wait_until, chats_upstream(sim, 2), "both chats to reach Chutes"
                )
                async with httpx2.AsyncClient(timeout=GUARD_S) as other:
                    refused = await other.post(server.url, json=PING, headers=MCP_HEADERS)
                    health = await other.get(f"{server.base}/healthz")
                chats.cancel_scope.cancel()
            return refused, health

        refused, health = anyio.run(two_slow_chats_then_one_more)
        # Once the cancelled chats have let go, requests are served again.
        wait_until(
            lambda: (
                httpx2.post(server.url, json=PING, headers=MCP_HEADERS, timeout=GUARD_S).status_code == 200
            ),
            "a request to be served again",
        )
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["connection"] == "close"
    error = refused.json()["error"]
    assert error["message"].startswith("The server is serving as many requests as it takes (2)")
    assert health.status_code == 200


def test_a_request_head_without_end_is_refused(sim: SimProcess, tmp_path: Path) -> None:
    with http_server(sim, tmp_path) as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(2_000):  # 16 MB of header lines, if nothing stops them
                sock.sendall(b"X-Pad: " + b"a" * 8000 + b"\r\n")
        except OSError:
            pass  # the server closed the connection: its answer is still to be read
        answer = read_to_end(sock)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), answer[:200]


def test_200_gets_are_answered_and_cost_no_descriptor(sim: SimProcess, tmp_path: Path) -> None:
    # GET /mcp once opened an event stream that never sent anything and never closed: 200 of them
    # held 200 descriptors. Now each gets 405 (in both eras), and closing the clients frees everything.
    with http_server(sim, tmp_path) as server:

        async def gets() -> list[int]:
            statuses: list[int] = []

            async def one(version: str) -> None:
                async with httpx2.AsyncClient(timeout=GUARD_S) as http:
                    response = await http.get(
                        server.url,
                        headers={"accept": "text/event-stream", "mcp-protocol-version": version},
                    )
                    statuses.append(response.status_code)

            with anyio.fail_after(GUARD_S):
                async with anyio.create_task_group() as group:
                    for n in range(200):
                        group.start_soon(one, "2025-11-25" if n % 2 else "2026-07-28")
            return statuses

        statuses = anyio.run(gets)
        wait_until(lambda: client_connections(server) == 0, "the descriptors to be given back")
    assert statuses == [405] * 200


@pytest.mark.parametrize(
    "host",
    ["localhost:1@evil.com", "localhost:evil.com", "127.0.0.1:80/x", "localhost:", "localhost:99999", "a b"],
)
def test_a_host_not_in_host_port_form_is_a_bad_request(sim: SimProcess, tmp_path: Path, host: str) -> None:
    with http_server(sim, tmp_path) as server:
        refused = httpx2.post(server.url, json=PING, headers={**MCP_HEADERS, "host": host}, timeout=GUARD_S)
        allowed = httpx2.post(
            server.url,
            json=PING,
            headers={**MCP_HEADERS, "host": f"localhost:{server.port}"},
            timeout=GUARD_S,
        )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["message"].startswith("Invalid Host header")
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:1@evil.com", "http://localhost:evil.com", "http://127.0.0.1:80/x", "localhost:80"],
)
def test_an_origin_not_in_origin_form_is_refused(sim: SimProcess, tmp_path: Path, origin: str) -> None:
    with http_server(sim, tmp_path) as server:
        refused = httpx2.post(
            server.url, json=PING, headers={**MCP_HEADERS, "origin": origin}, timeout=GUARD_S
        )
        allowed = httpx2.post(
            server.url, json=PING, headers={**MCP_HEADERS, "origin": "http://localhost:5173"}, timeout=GUARD_S
        )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["message"].startswith("Invalid Origin header")
    assert allowed.status_code == 200


# A listener in a process with no descriptor left: every connection queued makes asyncio's accept fail
# (EMFILE), a logged traceback each, over and over (CPython #151615), unless the server's handler holds
# them back.
_ACCEPT_FAILURES = """
import asyncio, os, sys
from chutes_mcp import log
from chutes_mcp.server.http_connections import accept_errors_logged_sparingly

log.configure("INFO")

async def main():
    loop = asyncio.get_running_loop()
    with accept_errors_logged_sparingly(loop):
        server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0, backlog=100)
        log.get_logger("probe").info("listening")  # sets logging up while files can still be opened
        print(server.sockets[0].getsockname()[1], flush=True)
        hog = []
        try:
            while True:
                hog.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        sys.stdin.readline()  # the connections are queued
        await asyncio.sleep(3)
        for fd in hog:
            os.close(fd)
        server.close()

asyncio.run(main())
"""


def test_accept_failures_are_logged_once_per_interval(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _ACCEPT_FAILURES],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_limit_descriptors,
    ) as child:
        assert child.stdout is not None
        assert child.stdin is not None
        port = int(child.stdout.readline())
        queued = [socket.create_connection(("127.0.0.1", port), timeout=GUARD_S) for _ in range(50)]
        child.stdin.write("go\n")
        child.stdin.flush()
        _, stderr = child.communicate(timeout=GUARD_S)
        for sock in queued:
            sock.close()
    assert child.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    failures = [line for line in stderr.splitlines() if "http.accept_failed" in line]
    assert len(failures) == 1, stderr[-3000:]
    assert "Too many open files" in failures[0]
