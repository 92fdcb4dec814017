"""`chutes-mcp serve` over stdio, in both protocol eras, as hosts run it."""

from __future__ import annotations

import fcntl
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR
from mcp_support import ERAS, INSTRUCT_TEE_MODEL, error_of, mcp_session, server_env
from sim_process import SimProcess

from chutes_mcp import __version__
from chutes_mcp.server.stdio import BLANK_LINE

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ERAS)
async def test_handshake_names_the_server_and_its_tools(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        listed = await client.list_tools()
        info = client.server_info
    names = [tool.name for tool in listed.tools]
    assert names == ["chat", "embed", "list_models", "get_model", "pick_model", "account"]
    for tool in listed.tools:
        assert tool.description
        assert tool.annotations is not None
        assert tool.output_schema is not None
    assert info is not None
    assert (info.name, info.version) == ("chutes-mcp", __version__)


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_tool_is_a_protocol_error(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        with pytest.raises(MCPError) as caught:
            await client.call_tool("no_such_tool", {})
    assert caught.value.error.code == INVALID_PARAMS


@pytest.mark.parametrize("mode", ERAS)
async def test_unknown_arguments_are_refused_not_dropped(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("account", {"verbose": True})
    payload = error_of(result)
    assert payload["code"] == "invalid_arguments"
    assert "verbose" in payload["message"]


@pytest.mark.parametrize("mode", ERAS)
async def test_account(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode) as client:  # type: ignore[arg-type]
        result = await client.call_tool("account", {})
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["balance_usd"] == 25.0
    assert result.structured_content["daily_quota"] == 2000


@pytest.mark.parametrize("mode", ERAS)
async def test_account_without_a_credential(sim: SimProcess, tmp_path: Path, mode: str) -> None:
    async with mcp_session(sim, tmp_path, mode, CHUTES_API_KEY="") as client:  # type: ignore[arg-type]
        result = await client.call_tool("account", {})
    payload = error_of(result)
    assert payload["code"] == "auth_invalid"
    assert "CHUTES_API_KEY" in payload["hint"]


# --- The transport itself, over pipes the test makes: raw JSON-RPC, and the host's view of each pipe. ---

# A guard against a hung server, not a timing assertion: each answer here takes well under a second.
STDIO_GUARD_S = 15.0
# The first answer waits for the process to start too: ten servers starting at once on a busy machine
# with two cores can take twenty seconds.
START_GUARD_S = 60.0
LEGACY_INITIALIZE = {
    "protocolVersion": "2025-11-25",
    "capabilities": {},
    "clientInfo": {"name": "pipe-host", "version": "0"},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
ACCOUNT = {"name": "account", "arguments": {}}


def request(request_id: int | str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, **({"params": params} if params else {})}


def nonblocking(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)


class PipeHost:
    """A host that runs `chutes-mcp serve` on pipes it made itself with `os.pipe()`.

    Besides its own ends it keeps the ends it handed the server: each is the same open file description
    as the server's fd 0 or 1, so their flags are the ones the server could change under the host.
    """

    def __init__(
        self,
        env: dict[str, str],
        stderr: Path,
        *,
        nonblocking_stdin: bool = False,
        nonblocking_stdout: bool = False,
        read_size: int = 1 << 16,
        read_pause_s: float = 0.0,
    ) -> None:
        self.server_stdin, self.stdin = os.pipe()
        self.stdout, self.server_stdout = os.pipe()
        if nonblocking_stdin:
            os.set_blocking(self.server_stdin, False)
        if nonblocking_stdout:
            os.set_blocking(self.server_stdout, False)
        self.stderr_path = stderr
        with stderr.open("wb") as stderr_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "chutes_mcp", "serve"],
                stdin=self.server_stdin,
                stdout=self.server_stdout,
                stderr=stderr_file,
                env=env,
            )
        self.held = {"stdin": True, "server_stdout": True}
        self.raw = bytearray()
        self.answers: dict[int | str | None, dict[str, Any]] = {}
        self.unanswerable: list[dict[str, Any]] = []
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        # A host may read its end of stdout slowly, or stop reading it for a while.
        self._reading = threading.Event()
        self._reading.set()
        self._read_size, self._read_pause_s = read_size, read_pause_s
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def pause_reading(self) -> None:
        """Stop reading stdout after the read under way, if any (at most one more chunk)."""
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    def _read(self) -> None:
        pending = b""
        while self._reading.wait() and (chunk := os.read(self.stdout, self._read_size)):
            time.sleep(self._read_pause_s)
            self.raw += chunk
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self._lines.put(line)
        self._lines.put(None)

    def diagnosis(self) -> str:
        return f"stdout tail: {bytes(self.raw[-500:])!r}\nstderr:\n{self.stderr_path.read_text()[-3000:]}"

    def write(self, data: bytes) -> None:
        """All of `data` to the server's stdin; a server that stops reading fails the test, not hangs it."""
        writer = threading.Thread(target=self._write_all, args=(data,), daemon=True)
        writer.start()
        writer.join(STDIO_GUARD_S)
        assert not writer.is_alive(), f"the server stopped reading its stdin\n{self.diagnosis()}"

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.stdin, view) :]

    def send(self, *messages: dict[str, Any], end: bytes = b"\n") -> None:
        self.write(b"".join(json.dumps(message).encode() + end for message in messages))

    def _take(self, line: bytes) -> None:
        message = json.loads(line)
        assert isinstance(message, dict), line[:300]
        assert message.get("jsonrpc") == "2.0", line[:300]
        if "id" in message and "method" not in message:
            assert ("result" in message) != ("error" in message), line[:300]
            if message["id"] is None:
                # Errors for lines whose id could not be read: as many as such lines, in their order.
                self.unanswerable.append(message)
            else:
                assert message["id"] not in self.answers, f"two answers to request {message['id']}"
            self.answers[message["id"]] = message

    def wait_for_output(self, more_than: int) -> None:
        """Until stdout has carried more than `more_than` bytes."""
        deadline = time.monotonic() + STDIO_GUARD_S
        while len(self.raw) <= more_than:
            assert time.monotonic() < deadline, f"stdout stayed at {more_than} bytes\n{self.diagnosis()}"
            time.sleep(0.01)

    def answer(self, request_id: int | str | None, guard_s: float = STDIO_GUARD_S) -> dict[str, Any]:
        deadline = time.monotonic() + guard_s
        while request_id not in self.answers:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no answer to request {request_id}\n{self.diagnosis()}") from None
            if line is None:
                raise AssertionError(f"stdout closed before answer {request_id}\n{self.diagnosis()}")
            self._take(line)
        return self.answers[request_id]

    def initialize(self, end: bytes = b"\n") -> None:
        self.send(request(0, "initialize", LEGACY_INITIALIZE), end=end)
        assert self.answer(0, START_GUARD_S)["result"]["protocolVersion"] == "2025-11-25"
        self.send(INITIALIZED, end=end)

    def flags(self) -> dict[str, bool]:
        """Whether each end of the two pipes is in non-blocking mode."""
        ends = {
            "host's end of stdin": self.stdin if self.held["stdin"] else None,
            "server's stdin": self.server_stdin,
            "server's stdout": self.server_stdout,
            "host's end of stdout": self.stdout,
        }
        return {name: nonblocking(fd) for name, fd in ends.items() if fd is not None}

    def close_stdin(self) -> None:
        if self.held["stdin"]:
            os.close(self.stdin)
            self.held["stdin"] = False

    def wait(self) -> int:
        """Close stdin, as a host ends a session, and return the server's exit status."""
        self.close_stdin()
        try:
            return self.process.wait(timeout=STDIO_GUARD_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the server did not exit when its stdin closed\n{self.diagnosis()}"
            ) from None

    def everything_written(self) -> dict[int | str | None, dict[str, Any]]:
        """Once the server has exited: every answer it wrote."""
        assert self.process.poll() is not None
        self._close_server_stdout()
        self._reader.join(STDIO_GUARD_S)
        while (line := self._lines.get_nowait()) is not None:
            self._take(line)
        assert self.raw.endswith(b"\n"), self.diagnosis()
        return self.answers

    def _close_server_stdout(self) -> None:
        # The last copy of the write end: the reader then sees the end of stdout.
        if self.held["server_stdout"]:
            os.close(self.server_stdout)
            self.held["server_stdout"] = False

    def dispose(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.resume_reading()
        self.close_stdin()
        self._close_server_stdout()
        self._reader.join(STDIO_GUARD_S)
        os.close(self.server_stdin)
        os.close(self.stdout)


@contextmanager
def pipe_host(
    sim: SimProcess,
    tmp_path: Path,
    name: str = "server",
    *,
    nonblocking_stdin: bool = False,
    nonblocking_stdout: bool = False,
    read_size: int = 1 << 16,
    read_pause_s: float = 0.0,
    **env: str,
) -> Iterator[PipeHost]:
    stderr = tmp_path / f"{name}.stderr"
    host = PipeHost(
        server_env(sim, tmp_path / name, **env),
        stderr,
        nonblocking_stdin=nonblocking_stdin,
        nonblocking_stdout=nonblocking_stdout,
        read_size=read_size,
        read_pause_s=read_pause_s,
    )
    try:
        yield host
    finally:
        host.dispose()


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_each_line_end_is_answered_while_the_host_waits(sim: SimProcess, tmp_path: Path, end: bytes) -> None:
    # One message at a time, and nothing more until its answer: a reader that waits for the byte after
    # a line end (to see whether a CR is half of a CRLF) never answers.
    with pipe_host(sim, tmp_path) as host:
        host.initialize(end)
        host.send(request(1, "tools/list"), end=end)
        tools = host.answer(1)["result"]["tools"]
        host.send(request(2, "tools/call", ACCOUNT), end=end)
        account = host.answer(2)["result"]
        host.send(request(3, "ping"), end=end)
        assert host.answer(3)["result"] == {}
        assert host.wait() == 0, host.diagnosis()
        assert host.everything_written().keys() == {0, 1, 2, 3}
    assert len(tools) == 6
    assert account["isError"] is False, account
    assert b"\r" not in host.raw


def test_a_crlf_split_across_two_writes_ends_one_line(sim: SimProcess, tmp_path: Path) -> None:
    # The CR goes first and is answered at once; the LF that comes with the next write ends no second,
    # empty line. An empty line is invisible on stdout (whitespace between messages is skipped) but
    # logged at DEBUG, so one deliberate empty line calibrates the count.
    with pipe_host(sim, tmp_path, CHUTES_LOG_LEVEL="DEBUG") as host:
        host.send(request(0, "initialize", LEGACY_INITIALIZE), end=b"\r")
        host.answer(0, START_GUARD_S)
        host.write(b"\n" + json.dumps(INITIALIZED).encode() + b"\r")
        host.write(b"\n" + json.dumps(request(1, "ping")).encode() + b"\r")
        host.answer(1)
        host.write(b"\n\n")
        assert host.wait() == 0, host.diagnosis()
        assert host.everything_written().keys() == {0, 1}
    assert host.stderr_path.read_text().count(BLANK_LINE) == 1, host.diagnosis()


def chat_call(**arguments: Any) -> dict[str, Any]:
    return {
        "name": "chat",
        "arguments": {"prompt": "hi", "model": INSTRUCT_TEE_MODEL, "max_tokens": 8, **arguments},
    }


def cancelled(request_id: int | str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": request_id}}


def slow_chats(sim: SimProcess, ttft_ms: int) -> None:
    httpx2.patch(f"{sim.url}/_sim/config", json={"ttft_ms": ttft_ms}).raise_for_status()


def test_requests_sent_just_before_stdin_closes_are_all_answered(sim: SimProcess, tmp_path: Path) -> None:
    # Two slow chats are still running when stdin closes: each gets its real result, not the SDK's
    # "Connection closed", and no answer is lost on its way out. Ten servers at once, so a race shows.
    slow_chats(sim, 300)
    burst = [
        request(1, "tools/call", chat_call()),
        request(2, "tools/list"),
        request(3, "ping"),
        request(4, "tools/call", ACCOUNT),
        request(5, "tools/call", chat_call()),
        request(6, "resources/list"),
    ]
    with ExitStack() as stack:
        hosts = [stack.enter_context(pipe_host(sim, tmp_path, f"server-{n}")) for n in range(10)]
        for host in hosts:
            host.initialize()
        for host in hosts:
            host.send(*burst)
            host.close_stdin()
        for host in hosts:
            assert host.wait() == 0, host.diagnosis()
            answers = host.everything_written()
            assert b"Traceback" not in host.stderr_path.read_bytes(), host.diagnosis()
            assert answers.keys() == {0, 1, 2, 3, 4, 5, 6}, host.diagnosis()
            for answer in answers.values():
                assert "result" in answer, answer
            for chat in (answers[1], answers[5]):
                assert chat["result"]["isError"] is False, chat
                assert chat["result"]["structuredContent"]["text"], chat


@pytest.mark.parametrize(
    ("request_id", "cancelled_id"),
    [(1, 1), ("chat", "chat"), (7, "7")],
    ids=["number", "string", "number-cancelled-as-string"],
)
def test_a_request_the_host_cancelled_does_not_hold_the_exit_back(
    sim: SimProcess, tmp_path: Path, request_id: int | str, cancelled_id: int | str
) -> None:
    # A cancelled request gets no answer: were it still waited for, the exit would come only at the
    # end of the grace period (20 s), after the test stops waiting for it.
    slow_chats(sim, 10_000)
    with pipe_host(sim, tmp_path) as host:
        host.initialize()
        host.send(request(request_id, "tools/call", chat_call()))
        host.send(cancelled(cancelled_id), request(2, "ping"))
        assert host.answer(2)["result"] == {}
        assert host.wait() == 0, host.diagnosis()
        assert host.everything_written().keys() == {0, 2}, host.diagnosis()


def test_lines_that_are_no_requests_do_not_hold_the_exit_back(sim: SimProcess, tmp_path: Path) -> None:
    # None of these is a request the SDK runs: each that asks for something gets the relay's error at
    # once, and none may be waited for, or the exit would come only at the end of the grace period,
    # after the test stops waiting.
    lines = [
        b"not json",
        b'{"jsonrpc": "2.0", "id": 8, "method": 5}',
        b'{"jsonrpc": "2.0", "id": 1.5, "method": "ping"}',
        b'{"jsonrpc": "2.0", "id": true, "method": "ping"}',
        b'{"jsonrpc": "2.0", "id": null, "method": "ping"}',
        b'{"jsonrpc": "1.0", "id": 9, "method": "ping"}',
        b'{"jsonrpc": "2.0", "id": 10, "method": "ping", "params": [1]}',
        # A response, as to a request of the server's: from the host, it is no request either.
        b'{"jsonrpc": "2.0", "id": 11, "result": {}}',
        b"[" * 100_000 + b"]" * 100_000,
    ]
    with pipe_host(sim, tmp_path) as host:
        host.initialize()
        host.write(b"".join(line + b"\n" for line in lines))
        host.send(request(1, "ping"))
        assert host.answer(1)["result"] == {}
        assert host.wait() == 0, host.diagnosis()
        answers = host.everything_written()
    assert answers.keys() == {0, 1, 8, 9, 10, None}, host.diagnosis()
    assert [error["error"]["code"] for error in host.unanswerable] == [
        PARSE_ERROR,
        INVALID_REQUEST,
        INVALID_REQUEST,
        INVALID_REQUEST,
        PARSE_ERROR,
    ]


# Each line is one the SDK's transport drops without an answer (mcp 2.3.0), with the error it gets
# now, and its id where one can be read from a line that asks for something.
UNREADABLE_LINES = [
    pytest.param(b"{not json", PARSE_ERROR, None, id="invalid-json"),
    pytest.param(b"[]", INVALID_REQUEST, None, id="empty-batch"),
    pytest.param(
        b'[{"jsonrpc": "2.0", "id": 3, "method": "ping"}]', INVALID_REQUEST, None, id="batch-of-one"
    ),
    pytest.param(
        b'{"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": []}',
        INVALID_REQUEST,
        4,
        id="params-array",
    ),
    # The SDK's parser stops at 201 levels; this line has 202.
    pytest.param(
        b'{"jsonrpc": "2.0", "id": 5, "method": "ping", "params": {"deep": '
        + b"[" * 200
        + b"]" * 200
        + b"}}",
        PARSE_ERROR,
        5,
        id="nested-202",
    ),
    pytest.param(b"[" * 198 + b"]" * 198, INVALID_REQUEST, None, id="bare-nesting-198"),
    pytest.param(
        b'{"jsonrpc": "2.0", "id": "s", "method": "ping", "params": {"x": "\\ud800"}}',
        PARSE_ERROR,
        "s",
        id="lone-surrogate",
    ),
    pytest.param(
        b'{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {"n": ' + b"9" * 5000 + b"}}",
        PARSE_ERROR,
        7,
        id="5000-digit-integer",
    ),
    pytest.param(b'{"jsonrpc": "2.0", "id": null, "method": "ping"}', INVALID_REQUEST, None, id="null-id"),
    pytest.param(b"\xff\xfe{}", PARSE_ERROR, None, id="not-utf-8"),
]


@pytest.mark.parametrize(("line", "code", "request_id"), UNREADABLE_LINES)
def test_every_line_that_cannot_be_read_is_answered(
    sim: SimProcess, tmp_path: Path, line: bytes, code: int, request_id: int | str | None
) -> None:
    # Before each reply the host waits, as a host does for an answer: a line left unanswered fails
    # here, at the guard, instead of hanging the host. The next request is still served.
    with pipe_host(sim, tmp_path) as host:
        host.initialize()
        host.write(line + b"\n")
        reply = host.answer(request_id)
        host.send(request(1, "ping"))
        assert host.answer(1)["result"] == {}
        assert host.wait() == 0, host.diagnosis()
    assert reply["error"]["code"] == code, reply
    assert reply["error"]["message"].startswith("Parse error" if code == PARSE_ERROR else "Invalid Request")


def tool_error(answer: dict[str, Any]) -> dict[str, Any]:
    """The JSON object a tool error result ends with."""
    result = answer["result"]
    assert result["isError"] is True, result
    payload: dict[str, Any] = json.loads(result["content"][0]["text"].rsplit("\n", 1)[-1])
    return payload


def test_the_grace_period_bounds_the_wait_for_answers(sim: SimProcess, tmp_path: Path) -> None:
    # With a grace period of one second, a chat of ten seconds is ended once stdin has closed and the
    # second is over: it answers with the retryable `shutdown` error (no text had come yet), and what
    # was ready is answered.
    slow_chats(sim, 10_000)
    with pipe_host(sim, tmp_path, CHUTES_MCP_SHUTDOWN_GRACE_S="1") as host:
        host.initialize()
        host.send(request(1, "tools/call", chat_call()), request(2, "ping"))
        assert host.answer(2)["result"] == {}
        assert host.wait() == 0, host.diagnosis()
        answers = host.everything_written()
    assert answers.keys() == {0, 1, 2}
    error = tool_error(answers[1])
    assert (error["code"], error["retryable"]) == ("shutdown", True), error
    assert "partial_text" not in error


@pytest.mark.parametrize("nonblocking_stdout", [False, True], ids=["blocking", "non-blocking-stdout"])
def test_a_host_that_reads_stdout_slowly_gets_every_byte_in_order(
    sim: SimProcess, tmp_path: Path, nonblocking_stdout: bool
) -> None:
    # A few MB of answers, read 4 KB at a time with a pause after each read, and stdin closed as soon
    # as the requests are sent: the server waits for the host, and every answer arrives whole. On a
    # stdout the host left non-blocking, the server waits for room in the pipe as well.
    words = 20_000
    httpx2.patch(f"{sim.url}/_sim/config", json={"answer_tokens": words}).raise_for_status()
    ids = range(1, 11)
    with pipe_host(
        sim, tmp_path, nonblocking_stdout=nonblocking_stdout, read_size=4096, read_pause_s=0.001
    ) as host:
        host.initialize()
        # Each seed twice: the simulator writes the same answer for the same request.
        host.send(*(request(n, "tools/call", chat_call(max_tokens=30_000, seed=(n + 1) // 2)) for n in ids))
        host.close_stdin()
        assert host.wait() == 0, host.diagnosis()
        answers = host.everything_written()
    assert answers.keys() == {0, *ids}
    assert len(host.raw) > 2_000_000
    for n in ids:
        result = answers[n]["result"]
        assert result["isError"] is False, result
        assert len(result["structuredContent"]["text"].split()) == words
    # Two copies of one answer, relayed apart, are the same byte for byte; each seed has its own text.
    texts = {n: answers[n]["result"]["structuredContent"]["text"] for n in ids}
    for n in ids[::2]:
        assert texts[n] == texts[n + 1]
    assert len(set(texts.values())) == len(ids) // 2


def test_a_host_that_stops_reading_stdout_cannot_keep_the_server_past_the_grace_period(
    sim: SimProcess, tmp_path: Path
) -> None:
    # An answer of about a MB, more than the pipes between the server and the host hold, and a host
    # that reads its first chunk, then no more, and closes stdin: once the grace period is over the
    # server gives up on the host and exits, instead of blocking on stdout for ever.
    httpx2.patch(f"{sim.url}/_sim/config", json={"answer_tokens": 100_000}).raise_for_status()
    with pipe_host(sim, tmp_path, CHUTES_MCP_SHUTDOWN_GRACE_S="1") as host:
        host.initialize()
        host.pause_reading()
        handshake = len(host.raw)
        host.send(request(1, "tools/call", chat_call(max_tokens=200_000)))
        host.wait_for_output(more_than=handshake)
        assert host.wait() == 0, host.diagnosis()
    assert b"Traceback" not in host.stderr_path.read_bytes(), host.diagnosis()


@pytest.mark.parametrize(
    "nonblocking",
    [(), ("stdin",), ("stdout",)],
    ids=["blocking", "non-blocking-stdin", "non-blocking-stdout"],
)
def test_the_pipes_stay_as_the_host_left_them(
    sim: SimProcess, tmp_path: Path, nonblocking: tuple[str, ...]
) -> None:
    with pipe_host(
        sim, tmp_path, nonblocking_stdin="stdin" in nonblocking, nonblocking_stdout="stdout" in nonblocking
    ) as host:
        left = host.flags()
        host.initialize()
        host.send(request(1, "tools/call", ACCOUNT))
        assert host.answer(1)["result"]["isError"] is False
        serving = host.flags()
        assert host.wait() == 0, host.diagnosis()
        after = host.flags()
    assert left["server's stdin"] is ("stdin" in nonblocking)
    assert left["server's stdout"] is ("stdout" in nonblocking)
    assert serving == left
    assert after == {name: value for name, value in left.items() if name != "host's end of stdin"}


def test_a_five_megabyte_request_is_answered(sim: SimProcess, tmp_path: Path) -> None:
    prompt = "word " * 1_000_000
    arguments = {"prompt": prompt, "model": INSTRUCT_TEE_MODEL, "max_tokens": 8}
    with pipe_host(sim, tmp_path) as host:
        host.initialize()
        host.send(request(1, "tools/call", {"name": "chat", "arguments": arguments}))
        answer = host.answer(1)["result"]
        assert host.wait() == 0, host.diagnosis()
    assert answer["isError"] is False, answer
    # The simulator counts about 4 characters a token: a cut prompt would count fewer.
    assert answer["structuredContent"]["usage"]["prompt_tokens"] >= len(prompt) // 4


# -- SIGTERM and SIGINT while stdin is still open (the end of stdin: above) ----------------------------


def with_progress(message: dict[str, Any]) -> dict[str, Any]:
    message["params"]["_meta"] = {"progressToken": f"progress-{message['id']}"}
    return message


def wait_for_streamed_text(host: PipeHost) -> None:
    """Until a progress notification has carried some of the answer's text."""
    deadline = time.monotonic() + STDIO_GUARD_S
    while b'"notifications/progress"' not in host.raw or ": \u2026".encode() not in host.raw:
        assert time.monotonic() < deadline, f"no text streamed\n{host.diagnosis()}"
        time.sleep(0.05)


def exit_status(host: PipeHost) -> int:
    """The server's exit status, stdin left open: the signal alone is to end it."""
    try:
        return host.process.wait(timeout=STDIO_GUARD_S)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the server did not exit on the signal\n{host.diagnosis()}") from None


def test_sigterm_ends_a_call_past_the_grace_period_with_what_it_had_streamed(
    sim: SimProcess, tmp_path: Path
) -> None:
    # A minute-long answer and a second of grace: the call answers before the exit, with the `shutdown`
    # error and the words that had come; Chutes is hung up on.
    httpx2.patch(f"{sim.url}/_sim/config", json={"tokens_per_s": 5, "answer_tokens": 300}).raise_for_status()
    with pipe_host(sim, tmp_path, CHUTES_MCP_SHUTDOWN_GRACE_S="1") as host:
        host.initialize()
        host.send(with_progress(request(1, "tools/call", chat_call(max_tokens=400))))
        wait_for_streamed_text(host)
        host.process.send_signal(signal.SIGTERM)
        answer = host.answer(1)
        assert exit_status(host) == 0
    error = tool_error(answer)
    assert (error["code"], error["retryable"]) == ("shutdown", True), error
    assert 0 < len(error["partial_text"].split()) < 300
    streams = sim.stats()["streams"]
    assert (streams["closed_early"], streams["completed"]) == (1, 0)


STALLED_MODEL = "zai-org/GLM-4.7-TEE"


def test_sigterm_lets_a_call_finish_and_a_second_one_ends_the_rest(sim: SimProcess, tmp_path: Path) -> None:
    # With a minute of grace: a chat of a second finishes with its result; stdin is still read while
    # the server drains (a ping is answered); a chat of a minute is ended by a second SIGTERM.
    slow_chats(sim, 1_000)
    stalled = {"faults": ["slow-first-byte:60000"], "route": "chat", "model": STALLED_MODEL}
    httpx2.post(f"{sim.url}/_sim/scenario", json=stalled).raise_for_status()
    with pipe_host(sim, tmp_path, CHUTES_MCP_SHUTDOWN_GRACE_S="60") as host:
        host.initialize()
        host.send(request(1, "tools/call", chat_call(model=STALLED_MODEL)))
        host.send(request(2, "tools/call", chat_call()))
        deadline = time.monotonic() + STDIO_GUARD_S
        while not sim.stats()["faults_served"]:  # the stalled chat is at Chutes
            assert time.monotonic() < deadline, host.diagnosis()
            time.sleep(0.05)
        host.process.send_signal(signal.SIGTERM)
        short = host.answer(2)
        host.send(request(3, "ping"))
        assert host.answer(3)["result"] == {}
        host.process.send_signal(signal.SIGTERM)
        long = host.answer(1)
        assert exit_status(host) == 0
        answers = host.everything_written()
    assert answers.keys() == {0, 1, 2, 3}
    assert short["result"]["isError"] is False, short
    assert tool_error(long)["code"] == "shutdown"


def test_sigint_from_a_host_stops_in_order_with_exit_130(sim: SimProcess, tmp_path: Path) -> None:
    with pipe_host(sim, tmp_path) as host:
        host.initialize()
        host.process.send_signal(signal.SIGINT)
        assert exit_status(host) == 130
    stderr = host.stderr_path.read_text()
    assert stderr.splitlines()[-1] == "chutes-mcp: interrupted", stderr
    assert "Traceback" not in stderr
