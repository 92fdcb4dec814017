"""`chutes-mcp` as a person sees it in a terminal (a real pseudo-terminal), and as scripts see it
piped: on a terminal `call chat` streams its answer, the catalog tools print tables and `embed` a
summary; piped, every tool prints exactly the structured result as JSON, as before."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp_support import server_env
from sim_process import SimProcess, sim_process

from chutes_mcp.server.tools.chat import ChatResult

PLAIN = "Qwen/Qwen3-235B-A22B-Instruct-2507-TEE"  # answers without reasoning first
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WAIT_S = 60.0


class Terminal:
    """A process on a pseudo-terminal (stdin, stdout and stderr), its output read as it comes."""

    def __init__(self, args: Sequence[str], env: dict[str, str]) -> None:
        controller, child = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "chutes_mcp", *args],
            stdin=child,
            stdout=child,
            stderr=child,
            env={**env, "TERM": "xterm"},
            start_new_session=True,
        )
        os.close(child)
        self._controller = controller
        self._output = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._controller, 65536)
            except OSError:  # the last holder of the terminal's other end is gone
                return
            if not data:
                return
            with self._lock:
                self._output += data

    @property
    def raw(self) -> str:
        with self._lock:
            return self._output.decode(errors="replace")

    @property
    def screen(self) -> str:
        """The output without colours, each line as last redrawn (a status line rewrites itself)."""
        lines = self.raw.replace("\r\n", "\n").split("\n")
        return "\n".join(ANSI.sub("", line.rsplit("\r", 1)[-1]) for line in lines)

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}; so far:\n{self.raw}"
            time.sleep(0.02)

    def finish(self) -> int:
        code = self.process.wait(timeout=WAIT_S)
        self._reader.join(timeout=5)
        os.close(self._controller)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def terminal(args: Sequence[str], env: dict[str, str]) -> Iterator[Terminal]:
    term = Terminal(args, env)
    try:
        yield term
    finally:
        term.close()


def piped(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chutes_mcp", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def slow_sim() -> Iterator[SimProcess]:
    """Chutes at a human pace: the first token after 0.3 s, then 15 tokens a second, 60 words an answer
    (4 s of streaming: time to see the first words while the rest is still coming)."""
    with sim_process("--ttft-ms", "300", "--tokens-per-s", "15") as sim:
        httpx2.patch(f"{sim.url}/_sim/config", json={"answer_tokens": 60}).raise_for_status()
        yield sim


def _open_streams(sim: SimProcess) -> int:
    return int(httpx2.get(f"{sim.url}/_sim/stats").json()["streams"]["open"])


def test_chat_on_a_terminal_shows_the_answer_while_it_streams(slow_sim: SimProcess, tmp_path: Path) -> None:
    arguments = json.dumps({"prompt": "tell me about GPUs", "model": PLAIN})
    env = server_env(slow_sim, tmp_path)
    expected = json.loads(piped(["call", "chat", arguments], env).stdout)["text"]
    first_words = expected.split()[0]
    with terminal(["call", "chat", arguments], env) as term:
        term.wait_until(lambda: first_words in term.screen, "the first words of the answer")
        # Seen while the call is still going: the answer is still streaming from the simulator.
        still_streaming = _open_streams(slow_sim) >= 1 and term.process.poll() is None
        code = term.finish()
    assert still_streaming, term.raw
    assert code == 0, term.raw
    screen = term.screen
    assert "Traceback" not in screen
    assert expected in screen  # the whole answer, as streamed, and printed once
    assert screen.count(first_words) == expected.count(first_words)
    footer = next(line for line in screen.splitlines() if line.startswith("— "))
    assert re.fullmatch(
        rf"— {re.escape(PLAIN)} · \d+ in / \d+ out tokens · \$\d+\.\d{{6}} · \d+\.\d\d s", footer
    )
    assert "{" not in screen  # no JSON for a person


def test_chat_shows_a_status_line_while_nothing_streams(tmp_path: Path) -> None:
    with (
        sim_process("--ttft-ms", "1500") as sim,
        terminal(
            ["call", "chat", json.dumps({"prompt": "hi", "model": PLAIN})], server_env(sim, tmp_path)
        ) as term,
    ):
        term.wait_until(lambda: "chat · " in term.raw, "a status line")
        assert term.finish() == 0
    assert re.search(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] chat · \d+\.\d s", ANSI.sub("", term.raw))
    assert "chat · " not in term.screen  # cleared once the answer came


def _volatile(result: dict[str, Any]) -> dict[str, Any]:
    """The result without what differs between two identical calls."""
    attempts = [{**attempt, "ms": 0} for attempt in result["attempts"]]
    return {**result, "latency_ms": 0, "ttft_ms": 0, "invocation_id": "", "quota": {}, "attempts": attempts}


def test_piped_and_json_output_is_the_structured_result_as_before(sim: SimProcess, tmp_path: Path) -> None:
    env = server_env(sim, tmp_path)
    arguments = json.dumps({"prompt": "hello", "model": PLAIN})
    result = piped(["call", "chat", arguments], env)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    # Byte for byte what `call` always printed: the structured result, indented by 2, one newline.
    assert result.stdout == json.dumps(payload, indent=2) + "\n"
    assert list(payload) == list(ChatResult.model_fields)
    assert result.stderr == ""
    with terminal(["call", "chat", arguments, "--json"], env) as term:
        assert term.finish() == 0
    on_terminal = json.loads(term.raw.replace("\r\n", "\n"))
    assert _volatile(on_terminal) == _volatile(payload)


def test_list_models_is_a_table_whose_next_page_command_works_in_a_new_process(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    with terminal(["call", "list_models", '{"tee_only": true, "limit": 5}', "--sim"], env) as term:
        assert term.finish() == 0
    lines = term.screen.splitlines()
    assert lines[0].split()[:3] == ["ID", "TEE", "CONTEXT"]
    assert "— models 1-5 of 21 · by popularity · catalog live" in term.screen
    command = next(line for line in lines if line.strip().startswith("next page: "))
    args = shlex.split(command.split("next page: ", 1)[1])
    assert (args[:3], args[-1]) == (["chutes-mcp", "call", "list_models"], "--sim")
    # The cursor is tied to the catalog's content, so the simulator of another process takes it.
    with terminal(args[1:], env) as term:
        assert term.finish() == 0
    assert "— models 6-10 of 21" in term.screen, term.screen


def test_embed_shows_a_summary_and_writes_the_vectors_with_output(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    vectors = tmp_path / "vectors.json"
    with terminal(
        ["call", "embed", '{"input": ["a cat", "a dog"]}', "--sim", "--output", str(vectors)], env
    ) as term:
        assert term.finish() == 0
    screen = [line for line in term.screen.splitlines() if line.strip()]
    assert screen[0] == "2 vectors · Qwen/Qwen3-Embedding-8B (not TEE) · 4,096 dimensions"
    assert re.fullmatch(r"#1 \[-?\d\.\d{4}, -?\d\.\d{4}, -?\d\.\d{4}, -?\d\.\d{4}, …\]", screen[1])
    assert f"vectors written to {vectors}" in screen[-1]
    assert len(screen) == 4
    written = json.loads(vectors.read_text())
    assert (written["count"], len(written["vectors"][1])) == (2, 4096)


def test_serve_in_a_terminal_says_what_it_is_and_stops_at_ctrl_c(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    with terminal(["serve", "--sim"], env) as term:
        term.wait_until(lambda: "Ctrl-C stops it" in term.raw, "the line about stdio")
        os.killpg(term.process.pid, signal.SIGINT)
        code = term.finish()
    assert code == 130
    lines = [line for line in term.screen.splitlines() if line.strip()]
    assert lines[0].startswith("chutes-mcp serve: speaking MCP over stdio; an MCP client")
    assert lines[-1] == "chutes-mcp: interrupted"
    assert "Traceback" not in term.screen
