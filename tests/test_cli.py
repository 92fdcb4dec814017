"""The `chutes-mcp` command as users run it: a real process."""

from __future__ import annotations

import subprocess
import sys

from chutes_mcp import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chutes_mcp", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"chutes-mcp {__version__}"


def test_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "sim" in result.stdout


def test_no_command_prints_help_and_fails() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: chutes-mcp" in result.stderr


def test_bad_port_is_a_clear_error() -> None:
    result = run_cli("sim", "--port", "70000")
    assert result.returncode == 2
    assert "expected a port between 0 and 65535, got 70000" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_catalog_file_is_a_clear_error(tmp_path: object) -> None:
    result = run_cli("sim", "--port", "0", "--catalog", "/nonexistent/models.json")
    assert result.returncode == 2  # a usage error: the flag's value
    assert "/nonexistent/models.json" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_a_clear_error() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("sim", "--port", str(port))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(port) in result.stderr
