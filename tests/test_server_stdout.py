"""stdout of `chutes-mcp serve` is the protocol's alone: read raw, byte for byte, with DEBUG logging on.

A stray byte on stdout (a print, a warning, a log line, an install banner) breaks the host's handshake,
one of the most common complaints about MCP servers. These tests speak JSON-RPC by hand over a real
process's pipes, so nothing between the server and the test can tidy the stream up.
"""

from __future__ import annotations

import json
import os
import pty
import queue
import re
import secrets
import string
import subprocess
import sys
import termios
import threading
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp_support import INSTRUCT_TEE_MODEL, server_env
from sim_process import SimProcess

# A guard against a hung server, not a timing assertion: a healthy answer takes well under a second.
HANG_GUARD_S = 60.0
MODERN = "2026-07-28"
LEGACY = "2025-11-25"
DEBUG_LINE = re.compile(rb"^\S+ \[debug\s*\] ", re.MULTILINE)


def fresh_api_key() -> str:
    """A well-formed key (the simulator accepts any) that appears nowhere else, so a leak is certain."""
    alnum = string.ascii_letters + string.digits
    return f"cpk_{secrets.token_hex(16)}.{secrets.token_hex(16)}.{''.join(secrets.choice(alnum) for _ in range(32))}"


class RawServer:
    """`chutes-mcp serve` on real pipes; keeps every stdout and stderr byte as it arrived."""

    def __init__(self, env: dict[str, str], *args: str, terminal: bool = False) -> None:
        # On a terminal (a person trying the server by hand) stdin is a tty, not a pipe: line by line,
        # without echo, and Ctrl-D at the start of a line for end of input.
        terminal_side, stdin = pty.openpty() if terminal else (None, subprocess.PIPE)
        if terminal_side is not None:
            attributes = termios.tcgetattr(stdin)
            attributes[3] &= ~termios.ECHO
            termios.tcsetattr(stdin, termios.TCSANOW, attributes)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chutes_mcp", "serve", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._terminal = terminal_side is not None
        self._input = (
            self.process.stdin if terminal_side is None else open(terminal_side, "wb", buffering=0)  # noqa: SIM115
        )
        if terminal_side is not None:
            os.close(stdin)
        self.stdout_chunks: list[bytes] = []
        self.stderr = bytearray()
        self.requests = 0
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._next_id = 0
        self._threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        # readline() on the binary pipe returns every byte, the last partial line included.
        for line in iter(self.process.stdout.readline, b""):
            self.stdout_chunks.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for chunk in iter(lambda: self.process.stderr.read1(65536), b""):  # type: ignore[union-attr]
            self.stderr.extend(chunk)

    def send(self, message: dict[str, Any]) -> None:
        assert self._input is not None
        self._input.write(json.dumps(message).encode() + b"\n")
        self._input.flush()

    def notify(self, method: str, params: dict[str, Any] | None = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, **({"params": params} if params is not None else {})})

    def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and return its response; other messages on the way are left for the checks."""
        self._next_id += 1
        request_id = self._next_id
        self.requests += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        while True:
            try:
                line = self._lines.get(timeout=HANG_GUARD_S)
            except queue.Empty:
                raise AssertionError(
                    f"no answer to {method}; stderr:\n{self.stderr.decode(errors='replace')}"
                ) from None
            if line is None:
                raise AssertionError(
                    f"stdout closed before answering {method}; stderr:\n{self.stderr.decode()}"
                )
            try:
                parsed = json.loads(line)
            except ValueError:
                continue  # not JSON: the stream check after close() reports it with the raw bytes
            if isinstance(parsed, dict) and parsed.get("id") == request_id and "method" not in parsed:
                return parsed

    def close(self) -> int:
        """End of input, as a host closing the pipe: the server must exit on its own."""
        assert self._input is not None
        if self._terminal:
            self._input.write(b"\x04")  # Ctrl-D: the terminal's end of input
        else:
            self._input.close()
        try:
            code = self.process.wait(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("the server did not exit when its stdin closed") from None
        finally:
            self._input.close()
        for thread in self._threads:
            thread.join(timeout=HANG_GUARD_S)
        return code

    @property
    def stdout(self) -> bytes:
        return b"".join(self.stdout_chunks)


def assert_only_jsonrpc(raw: bytes, requests: int) -> list[dict[str, Any]]:
    """Every byte of `raw` belongs to a newline-terminated JSON-RPC 2.0 message; each request got one answer."""
    assert raw, "the server wrote nothing on stdout"
    assert raw.endswith(b"\n"), f"stdout does not end with a complete message: {raw[-200:]!r}"
    messages = []
    for number, line in enumerate(raw.split(b"\n")[:-1], start=1):
        try:
            message = json.loads(line.decode("utf-8"))
        except ValueError:
            raise AssertionError(f"stdout line {number} is not JSON: {line[:300]!r}") from None
        assert isinstance(message, dict), f"stdout line {number} is not a JSON-RPC object: {line[:300]!r}"
        assert message.get("jsonrpc") == "2.0", f"stdout line {number} is not JSON-RPC 2.0: {line[:300]!r}"
        if "method" in message:
            assert isinstance(message["method"], str)
        else:
            assert "id" in message, f"stdout line {number}: neither a request, a notification nor a response"
            assert ("result" in message) != ("error" in message), f"stdout line {number}: {line[:300]!r}"
        messages.append(message)
    responses = [m for m in messages if "method" not in m]
    assert len(responses) == requests, f"{requests} requests, {len(responses)} responses"
    return messages


def modern_meta() -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "raw-test", "version": "0"},
        # Ask for protocol log messages too: they are protocol messages, so they may share stdout.
        "io.modelcontextprotocol/logLevel": "debug",
    }


LEGACY_INITIALIZE = {
    "protocolVersion": LEGACY,
    "capabilities": {},
    "clientInfo": {"name": "raw-test", "version": "0"},
}


def initialize_legacy(server: RawServer) -> None:
    """The 2025-11-25 handshake, as most hosts speak it."""
    init = server.request("initialize", LEGACY_INITIALIZE)
    assert init["result"]["protocolVersion"] == LEGACY
    server.notify("notifications/initialized")


def drive_legacy(server: RawServer) -> list[str]:
    """The 2025-11-25 era; returns the tool names listed."""
    initialize_legacy(server)
    return call_tools(server, meta=None)


def drive_modern(server: RawServer) -> list[str]:
    """The 2026-07-28 era: no handshake, `server/discover`, and `_meta` on every request."""
    discovered = server.request("server/discover", {"_meta": modern_meta()})
    assert MODERN in discovered["result"]["supportedVersions"], discovered
    return call_tools(server, meta=modern_meta())


def call_tools(server: RawServer, meta: dict[str, Any] | None) -> list[str]:
    extra: dict[str, Any] = {"_meta": meta} if meta else {}
    listed = server.request("tools/list", {**extra})
    names = [tool["name"] for tool in listed["result"]["tools"]]
    account = server.request("tools/call", {"name": "account", "arguments": {}, **extra})
    assert account["result"]["isError"] is False, account
    if "list_models" in names:
        models = server.request("tools/call", {"name": "list_models", "arguments": {"limit": 3}, **extra})
        assert models["result"]["isError"] is False, models
    unknown = server.request("tools/call", {"name": "no_such_tool", "arguments": {}, **extra})
    assert "error" in unknown, unknown
    return names


@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_stdout_carries_only_protocol_messages_at_debug(sim: SimProcess, tmp_path: Path, era: str) -> None:
    env = server_env(sim, tmp_path, CHUTES_LOG_LEVEL="DEBUG")
    server = RawServer(env, "--log-level", "DEBUG")
    try:
        names = drive_legacy(server) if era == "legacy" else drive_modern(server)
    finally:
        code = server.close()
    assert code == 0, server.stderr.decode(errors="replace")
    assert "account" in names
    assert_only_jsonrpc(server.stdout, server.requests)
    # The logs did happen, at DEBUG, and went to stderr.
    assert DEBUG_LINE.search(bytes(server.stderr)), server.stderr[-2000:].decode(errors="replace")
    assert b"Traceback" not in server.stderr


def test_api_key_never_reaches_stdout_or_stderr(sim: SimProcess, tmp_path: Path) -> None:
    key = fresh_api_key()
    secret = key.rsplit(".", 1)[1]
    # The first chat request is refused (401), so the error path logs at DEBUG too.
    httpx2.post(f"{sim.url}/_sim/scenario", json={"faults": ["401"], "route": "chat"}).raise_for_status()
    server = RawServer(
        server_env(sim, tmp_path, CHUTES_API_KEY=key, CHUTES_LOG_LEVEL="DEBUG"), "--log-level", "DEBUG"
    )
    try:
        initialize_legacy(server)
        names = [tool["name"] for tool in server.request("tools/list")["result"]["tools"]]
        calls = [
            ("account", {}),
            ("list_models", {"limit": 2}),
            ("chat", {"prompt": "hello"}),
            ("chat", {"prompt": "hi"}),
        ]
        for name, arguments in calls:
            if name in names:
                server.request("tools/call", {"name": name, "arguments": arguments})
    finally:
        code = server.close()
    assert code == 0, server.stderr.decode(errors="replace")
    stdout, stderr = server.stdout.decode(errors="replace"), server.stderr.decode(errors="replace")
    assert DEBUG_LINE.search(bytes(server.stderr))
    for where, text in (("stdout", stdout), ("stderr", stderr)):
        assert key not in text, f"the API key appears on {where}"
        assert secret not in text, f"the secret part of the API key appears on {where}"
        assert "Bearer cpk_" not in text, f"an Authorization header appears on {where}"


def test_messages_larger_than_a_pipe_buffer_cross_whole(sim: SimProcess, tmp_path: Path) -> None:
    """A request and an answer each far larger than one pipe read or write (64 KiB) arrive intact."""
    httpx2.patch(f"{sim.url}/_sim/config", json={"answer_tokens": 20_000}).raise_for_status()
    server = RawServer(server_env(sim, tmp_path))
    prompt = "é " * 150_000  # 450 KB of UTF-8: reads end mid-character too
    try:
        initialize_legacy(server)
        answer = server.request(
            "tools/call",
            {"name": "chat", "arguments": {"prompt": prompt, "model": "chutes-fast", "max_tokens": 30_000}},
        )
    finally:
        code = server.close()
    assert code == 0, server.stderr.decode(errors="replace")
    assert answer["result"]["isError"] is False, answer
    # The simulator counts about 4 characters a token: a cut prompt would count fewer.
    usage = answer["result"]["structuredContent"]["usage"]
    assert usage["prompt_tokens"] >= len(prompt) // 4, usage
    assert usage["completion_tokens"] == 20_000, usage
    assert len(answer["result"]["structuredContent"]["text"]) > 65_536
    assert_only_jsonrpc(server.stdout, server.requests)


def test_each_tool_call_gets_a_log_line_on_stderr_at_info(sim: SimProcess, tmp_path: Path) -> None:
    server = RawServer(server_env(sim, tmp_path, CHUTES_LOG_LEVEL="INFO", CHUTES_LOG_FORMAT="json"))
    try:
        initialize_legacy(server)
        answer = server.request(
            "tools/call",
            {"name": "chat", "arguments": {"prompt": "hi", "model": INSTRUCT_TEE_MODEL, "max_tokens": 8}},
        )
        refused = server.request(
            "tools/call", {"name": "chat", "arguments": {"prompt": "hi", "model": "no/such"}}
        )
    finally:
        code = server.close()
    assert code == 0, server.stderr.decode(errors="replace")
    assert answer["result"]["isError"] is False, answer
    assert refused["result"]["isError"] is True, refused
    records = [json.loads(line) for line in server.stderr.splitlines() if line.startswith(b"{")]
    ok, failed = [r for r in records if r.get("event") == "tool.call"]
    assert (ok["tool"], ok["outcome"], ok["model"]) == ("chat", "ok", INSTRUCT_TEE_MODEL)
    assert ok["cost_usd"] > 0
    assert ok["latency_ms"] > 0
    assert (failed["outcome"], failed["code"]) == ("error", "model_not_found")
    assert_only_jsonrpc(server.stdout, server.requests)


def test_a_terminal_on_stdin_is_served_too(sim: SimProcess, tmp_path: Path) -> None:
    """Not a pipe (a person trying the server by hand): the SDK's own stdio transport serves."""
    server = RawServer(server_env(sim, tmp_path), terminal=True)
    try:
        initialize_legacy(server)
        listed = server.request("tools/list")
    finally:
        code = server.close()
    assert code == 0, server.stderr.decode(errors="replace")
    assert any(tool["name"] == "chat" for tool in listed["result"]["tools"])
    assert_only_jsonrpc(server.stdout, server.requests)


def test_a_host_that_stops_reading_does_not_crash_the_server(sim: SimProcess, tmp_path: Path) -> None:
    """A host that closes its end of stdout (it crashed, or only wanted the handshake): answers that
    cannot be delivered are dropped quietly, and the server still exits cleanly when stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "chutes_mcp", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server_env(sim, tmp_path),
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": LEGACY_INITIALIZE}).encode()
        + b"\n"
    )
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    process.stdout.close()
    process.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).encode() + b"\n")
    process.stdin.flush()
    # The answer to tools/list meets a closed pipe; a server that crashes on it exits on its own here.
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=3)
    process.stdin.close()
    code = process.wait(timeout=HANG_GUARD_S)
    assert process.stderr is not None
    stderr = process.stderr.read()  # at the default level the server writes next to nothing there
    assert code == 0, stderr.decode(errors="replace")
    assert b"Traceback" not in stderr
