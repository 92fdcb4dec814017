"""`chutes-mcp call TOOL 'JSON'`: one tool call from a shell, as scripts and smoke checks run it.

Exit codes: 0 with the structured result as JSON on stdout; 1 on a tool error, with the error's JSON
object on stdout; 2 when the call could not be made (unknown tool, bad arguments, bad configuration).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp_support import server_env
from sim_process import SimProcess


def run_call(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m chutes_mcp call ...` in a minimal environment with its own HOME (no stored sign-in)."""
    if env is None:
        env = {key: os.environ[key] for key in ("PATH", "LANG", "SYSTEMROOT") if key in os.environ}
        env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "chutes_mcp", "call", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_account_with_the_embedded_simulator(tmp_path: Path) -> None:
    result = run_call(tmp_path, "account", "--sim")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["balance_usd"] == 25.0
    assert payload["daily_quota"] == 2000
    assert "Traceback" not in result.stderr


def test_arguments_default_to_an_empty_object(tmp_path: Path) -> None:
    result = run_call(tmp_path, "account", "{}", "--sim")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["daily_quota"] == 2000


def test_a_tool_error_exits_1_with_the_error_object_on_stdout(tmp_path: Path) -> None:
    result = run_call(tmp_path, "account", '{"verbose": true}', "--sim")
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    assert payload["code"] == "invalid_arguments"
    assert "verbose" in payload["message"]
    assert payload["hint"]
    # The human line goes to stderr, code first.
    assert result.stderr.startswith("invalid_arguments: ")


def test_an_upstream_tool_error_exits_1(sim: SimProcess, tmp_path: Path) -> None:
    """No credential, against a separately running simulator (not --sim): the error names what to set."""
    env = server_env(sim, tmp_path, CHUTES_API_KEY="", HOME=str(tmp_path))
    result = run_call(tmp_path, "account", env=env)
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    assert payload["code"] == "auth_invalid"
    assert "CHUTES_API_KEY" in payload["hint"]


def test_unknown_tool_exits_2(tmp_path: Path) -> None:
    result = run_call(tmp_path, "no_such_tool", "--sim")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "no_such_tool" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"prompt": ', "ARGUMENTS is not JSON"),
        ("prompt=hello", "ARGUMENTS is not JSON"),
        ('["hello"]', "ARGUMENTS must be a JSON object"),
    ],
)
def test_bad_json_arguments_exit_2_with_a_clear_message(
    tmp_path: Path, arguments: str, expected: str
) -> None:
    result = run_call(tmp_path, "account", arguments, "--sim")
    assert result.returncode == 2
    assert result.stdout == ""
    assert expected in result.stderr
    assert '{"prompt": "hi"}' in result.stderr  # shows the accepted form
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("sim_flag", [(), ("--sim",)], ids=["configured", "sim"])
def test_a_config_error_exits_2_naming_the_variable(tmp_path: Path, sim_flag: tuple[str, ...]) -> None:
    env = {key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ}
    env.update(HOME=str(tmp_path), CHUTES_MAX_RETRIES="99")
    result = run_call(tmp_path, "account", *sim_flag, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "CHUTES_MAX_RETRIES" in result.stderr
    assert "0 to 10" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_disabled_tool_exits_2(tmp_path: Path) -> None:
    env = {key: os.environ[key] for key in ("PATH", "LANG") if key in os.environ}
    env.update(HOME=str(tmp_path), CHUTES_DISABLED_TOOLS="no_such_tool")
    result = run_call(tmp_path, "account", "--sim", env=env)
    assert result.returncode == 2
    assert "CHUTES_DISABLED_TOOLS" in result.stderr
    assert "no_such_tool" in result.stderr
    assert "Traceback" not in result.stderr
