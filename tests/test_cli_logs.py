"""What `chutes-mcp serve --transport http --sim` logs: one line per request, once, without noise."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import httpx2
from jsonrpc_support import INITIALIZED, MCP_HEADERS, initialize
from sim_process import start_process, stop_process

_LISTENING = re.compile(r"listening on (http://\S+)")


def test_http_serve_with_sim_logs_each_request_once_without_sdk_noise(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "chutes_mcp", "serve", "--transport", "http", "--port", "0", "--sim"]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    process, match, lines = start_process(command, _LISTENING, env=env)
    try:
        url = match.group(1)
        assert (
            httpx2.post(
                url, json=initialize(), headers={**MCP_HEADERS, "mcp-protocol-version": "2025-11-25"}
            ).status_code
            == 200
        )
        headers = {**MCP_HEADERS, "mcp-protocol-version": "2025-11-25"}
        assert httpx2.post(url, json=INITIALIZED, headers=headers).status_code == 202
        deadline = time.monotonic() + 30
        while sum("http.request" in line for line in lines) < 2:
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
    finally:
        stop_process(process)
    log = "".join(lines)
    # The embedded simulator's uvicorn says nothing: these lines are the server's, once each.
    assert log.count("Started server process") == 1, log
    assert "Terminating session" not in log
    statuses = re.findall(r"http\.request .*?status=(\S+)", log)
    assert statuses == ["200", "202"], log
