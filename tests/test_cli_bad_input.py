"""No traceback for anything a user can type: every setting's and every flag's bad value, as a real
`chutes-mcp` process, ends in one message that names what was wrong and the accepted form, with the
documented exit code (2 for configuration and usage, 130 for Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mcp_support import server_env
from sim_process import SimProcess, sim_process

from chutes_mcp.config import Settings

BAD_JSON = "bad.json"  # files made in the test's directory (see `_files`)
WRONG_SHAPE = "shape.json"
NOT_UTF8 = "latin1.bin"
BAD_TOML = "bad.toml"
UNKNOWN_KEY = "unknown.toml"
A_DIRECTORY = "a-directory"
A_FILE = "a-file"


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    says: tuple[str, ...] = ()
    """What the message names: the culprit, and the accepted form."""
    code: int = 2


def setting(variable: str, value: str, *says: str, args: tuple[str, ...] = ("call", "account")) -> Case:
    return Case(args, {variable: value}, (variable, *says))


# Every setting with a value it refuses; the rest take any text (names, ids, scopes, secrets) and are
# checked where they are used (an unknown model is the tool's `model_not_found`, a malformed key is
# sent with a warning and refused by Chutes as `auth_invalid`).
SETTINGS_CASES: dict[str, list[Case]] = {
    "config_file": [
        setting("CHUTES_MCP_CONFIG", "/nonexistent/chutes.toml", "cannot read"),
        setting("CHUTES_MCP_CONFIG", BAD_TOML, "is not valid TOML"),
        Case(
            ("call", "account"),
            {"CHUTES_MCP_CONFIG": UNKNOWN_KEY},
            (UNKNOWN_KEY, "unknown key 'colour'", "known keys: "),
        ),
        setting("CHUTES_MCP_CONFIG", NOT_UTF8, "is not UTF-8 text", "expected a TOML file"),
    ],
    "api_base": [
        setting(
            "CHUTES_API_BASE", "ftp://llm.chutes.ai", "must be an http(s) URL", "https://llm.chutes.ai/v1"
        ),
        setting("CHUTES_API_BASE", "http://llm.example.com/v1", "plain http is allowed only for loopback"),
    ],
    "embed_base": [setting("CHUTES_EMBED_BASE", "embed.chutes.ai", "must be an http(s) URL", "https://")],
    "management_base": [setting("CHUTES_MANAGEMENT_BASE", "http://10.0.0.1", "loopback", "https://")],
    "timeout_s": [
        setting("CHUTES_TIMEOUT_S", "soon", "a number of seconds above 0"),
        setting("CHUTES_TIMEOUT_S", "nan", "finite number", "a number of seconds above 0"),
    ],
    "max_retries": [setting("CHUTES_MAX_RETRIES", "99", "a whole number from 0 to 10")],
    "rate_limit_rpm": [setting("CHUTES_RATE_LIMIT_RPM", "0", "requests per minute above 0")],
    "rate_limit_burst": [setting("CHUTES_RATE_LIMIT_BURST", "0", "of 1 or more")],
    "max_upstream_connections": [
        setting("CHUTES_MAX_UPSTREAM_CONNECTIONS", "0", "from 1 to 65536"),
        setting("CHUTES_MAX_UPSTREAM_CONNECTIONS", "lots", "a whole number of connections"),
    ],
    "max_upstream_keepalive": [
        setting("CHUTES_MAX_UPSTREAM_KEEPALIVE", "-1", "from 0 to CHUTES_MAX_UPSTREAM_CONNECTIONS"),
        Case(
            ("call", "account"),
            {"CHUTES_MAX_UPSTREAM_CONNECTIONS": "10", "CHUTES_MAX_UPSTREAM_KEEPALIVE": "20"},
            ("CHUTES_MAX_UPSTREAM_KEEPALIVE", "is more than CHUTES_MAX_UPSTREAM_CONNECTIONS (10)"),
        ),
    ],
    "tee_only": [setting("CHUTES_TEE_ONLY", "maybe", "true or false")],
    "extra_headers": [
        setting("CHUTES_EXTRA_HEADERS", "X-Team", "each entry must be Name=value", "a JSON object"),
        setting("CHUTES_EXTRA_HEADERS", "Authorization=x", "cannot be overridden"),
        setting("CHUTES_EXTRA_HEADERS", "{not json", "a JSON object"),
        setting("CHUTES_EXTRA_HEADERS", "X-Team=caf\u00e9", "X-Team", "position 4", "a JSON object"),
        setting("CHUTES_EXTRA_HEADERS", '{"a":' * 20_000, "nested too deeply", "a JSON object"),
    ],
    "oauth_redirect_uri": [
        setting("CHUTES_OAUTH_REDIRECT_URI", "https://example.com/cb", "http://127.0.0.1:1456/oauth-callback")
    ],
    "token_file": [setting("CHUTES_TOKEN_FILE", A_DIRECTORY, "is a directory", "a file path")],
    "cache_dir": [setting("CHUTES_CACHE_DIR", A_FILE, "is not a directory", "a directory path")],
    "disabled_tools": [setting("CHUTES_DISABLED_TOOLS", "no_such_tool", "no_such_tool", "chat")],
    "max_cost_per_call_usd": [setting("CHUTES_MAX_COST_PER_CALL_USD", "-1", "US dollars above 0")],
    "cache_ttl_s": [setting("CHUTES_CACHE_TTL_S", "-5", "0 or more")],
    "mcp_shutdown_grace_s": [setting("CHUTES_MCP_SHUTDOWN_GRACE_S", "-1", "0 or more")],
    "mcp_auth_tokens": [
        setting(
            "CHUTES_MCP_AUTH_TOKENS",
            "short",
            "at least 16",
            args=("serve", "--transport", "http", "--port", "0"),
        )
    ],
    "mcp_auth": [setting("CHUTES_MCP_AUTH", "github", "'chutes'", "chutes (Sign in with Chutes)")],
    "mcp_public_url": [
        setting("CHUTES_MCP_PUBLIC_URL", "http://mcp.example.com/mcp", "must be https", "https://"),
        setting("CHUTES_MCP_PUBLIC_URL", "mcp.example.com", "absolute http(s) URL"),
    ],
    "mcp_redis_url": [
        setting("CHUTES_MCP_REDIS_URL", "http://:pw@redis:6379", "must start with redis://", "rediss://")
    ],
    "mcp_redis_key_secret": [
        setting("CHUTES_MCP_REDIS_KEY_SECRET", "short", "shorter than 32 characters", "openssl rand"),
        Case(
            ("call", "account"),
            {"CHUTES_MCP_REDIS_URL": "redis://127.0.0.1:6379/0"},
            ("CHUTES_MCP_REDIS_KEY_SECRET", "is required with CHUTES_MCP_REDIS_URL", "openssl rand"),
        ),
    ],
    "mcp_redis_timeout_s": [setting("CHUTES_MCP_REDIS_TIMEOUT_S", "30", "above 0 and at most 5")],
    "log_level": [setting("CHUTES_LOG_LEVEL", "verbose", "DEBUG, INFO, WARNING or ERROR")],
    "log_format": [setting("CHUTES_LOG_FORMAT", "xml", "console or json")],
    "aliases": [
        setting("CHUTES_ALIASES", "mine=foo", "not a JSON object", '{"alias": "model id"}'),
        setting("CHUTES_ALIASES", "[" * 100_000, "not a JSON object"),
        setting("CHUTES_ALIASES", "mine=foo", "not a JSON object", args=("serve",)),
        setting("CHUTES_ALIASES", "mine=foo", "not a JSON object", args=("models",)),
    ],
    "fallbacks": [
        setting("CHUTES_FALLBACKS", "x", "not a JSON object", '{"model id": ["fallback id", ...]}'),
        setting("CHUTES_FALLBACKS", "x", "not a JSON object", args=("serve",)),
    ],
}
FREE_TEXT_SETTINGS = {
    "api_key",
    "oauth_token",
    "client_id",
    "client_secret",
    "oauth_scopes",
    "default_model",
    "allowed_models",
    "default_embedding_model",
}

FLAG_CASES: list[Case] = [
    Case(("frobnicate",), says=("invalid choice: 'frobnicate'", "serve")),
    Case(("call", "account", "--colour"), says=("unrecognized arguments: --colour",)),
    Case(("sim", "--log-level", "verbose"), says=("--log-level", "expected DEBUG, INFO, WARNING or ERROR")),
    Case(("sim", "--port", "70000"), says=("--port", "between 0 and 65535")),
    Case(("sim", "--port", "http"), says=("--port", "expected a whole number")),
    Case(("sim", "--ttft-ms", "-1"), says=("--ttft-ms", "expected 0 or more")),
    Case(("sim", "--tokens-per-s", "fast"), says=("--tokens-per-s", "expected a whole number")),
    Case(("sim", "--seed", "x"), says=("--seed", "invalid int value")),
    Case(("sim", "--port", "0", "--catalog", "/nonexistent/models.json"), says=("--catalog", "cannot read")),
    Case(("sim", "--port", "0", "--catalog", BAD_JSON), says=("is not valid JSON", '{"object": "list"')),
    Case(("sim", "--port", "0", "--catalog", WRONG_SHAPE), says=("entry 0 has no string 'id'", '"data"')),
    Case(("sim", "--port", "0", "--catalog", NOT_UTF8), says=("is not UTF-8 text", "/v1/models JSON")),
    Case(("serve", "--transport", "websocket"), says=("--transport", "'stdio', 'http'")),
    Case(("serve", "--port", "99999"), says=("--port", "between 0 and 65535")),
    Case(("serve", "--max-body-bytes", "0"), says=("--max-body-bytes", "expected 1 or more")),
    Case(("serve", "--max-connections", "0"), says=("--max-connections", "expected 1 or more")),
    Case(("serve", "--header-timeout", "0"), says=("--header-timeout", "more than 0 and at most 3600")),
    Case(("serve", "--header-timeout", "nan"), says=("--header-timeout", "more than 0 and at most 3600")),
    Case(("serve", "--header-timeout", "soon"), says=("--header-timeout", "expected a number of seconds")),
    Case(("serve", "--log-level", "loud"), says=("--log-level", "DEBUG, INFO, WARNING or ERROR")),
    Case(("serve", "--key-source", "mine"), says=("--key-source", "'server', 'request'")),
    Case(("serve", "--transport", "http", "--path", "mcp", "--port", "0"), says=("--path", "start with '/'")),
    Case(
        ("serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0"),
        says=("--auth-token", "--auth chutes", "--no-auth"),
    ),
    Case(("serve", "--auth", "google"), says=("--auth", "'chutes'")),
    Case(
        ("serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0", "--auth", "chutes"),
        says=("--public-url", "https://mcp.example.com/mcp"),
    ),
    Case(
        ("serve", "--transport", "http", "--port", "0", "--public-url", "https://u:p@mcp.example.com/mcp"),
        says=("--public-url", "no user name, password"),
    ),
    Case(("call",), says=("the following arguments are required: tool",)),
    Case(("call", "account", '{"prompt": '), says=("ARGUMENTS is not JSON", '{"prompt": "hi"}')),
    Case(("call", "account", "prompt=hello"), says=("ARGUMENTS is not JSON", '{"prompt": "hi"}')),
    Case(("call", "account", '["hello"]'), says=("ARGUMENTS must be a JSON object", '{"prompt": "hi"}')),
    Case(("call", "account", "[" * 100_000), says=("ARGUMENTS is nested too deeply", '{"prompt": "hi"}')),
    Case(("call", "no_such_tool", "--sim"), says=("no_such_tool",)),
    Case(("call", "account", "--output", "/nonexistent/dir/out.json"), says=("--output", "cannot write")),
    Case(("call", "account", "--log-level", "chatty"), says=("--log-level", "DEBUG, INFO, WARNING or ERROR")),
    Case(("models", "--feature", "vision"), says=("--feature", "invalid choice: 'vision'", "json_mode")),
    Case(("pick", "--task", "poetry"), says=("--task", "invalid choice: 'poetry'", "coding")),
    Case(("pick", "-k", "0"), says=("-k", "invalid choice")),
    Case(("pick", "--selector", "fastest"), says=("--selector", "invalid choice: 'fastest'")),
    Case(("doctor", "--sim", "--verbose"), says=("unrecognized arguments: --verbose",)),
    Case(("login",), says=("CHUTES_CLIENT_ID is not set", "cid_")),
    Case(
        ("login",),
        env={"CHUTES_OAUTH_REDIRECT_URI": "http://example.com/cb"},
        says=("CHUTES_OAUTH_REDIRECT_URI",),
    ),
]


def _cases() -> list[pytest.param]:  # type: ignore[valid-type]
    params = []
    for name, cases in SETTINGS_CASES.items():
        for index, case in enumerate(cases):
            params.append(pytest.param(case, id=f"setting-{name}-{index}"))
    for case in FLAG_CASES:
        params.append(pytest.param(case, id=" ".join(case.args)[:60]))
    return params


def test_every_setting_has_a_bad_value_or_takes_any_text() -> None:
    """A new setting must join one of the two lists, so this test keeps covering every one."""
    covered = set(SETTINGS_CASES) | FREE_TEXT_SETTINGS
    assert covered == set(Settings.model_fields), sorted(covered ^ set(Settings.model_fields))


def _files(directory: Path) -> None:
    (directory / BAD_JSON).write_text('{"object": "list", "data": [')
    (directory / WRONG_SHAPE).write_text('{"object": "list", "data": [{"name": "no id"}]}')
    (directory / NOT_UTF8).write_bytes(b"\xff\xfe\x00caf\xe9")
    (directory / BAD_TOML).write_text("tee_only = \n")
    (directory / UNKNOWN_KEY).write_text('colour = "blue"\n')
    (directory / A_DIRECTORY).mkdir()
    (directory / A_FILE).write_text("")


def _environment(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("PATH", "LANG", "SYSTEMROOT") if key in os.environ}
    env["HOME"] = str(home)
    env["CHUTES_CACHE_DIR"] = str(home / "cache")
    env.update(extra)
    return env


@pytest.mark.parametrize("case", _cases())
def test_a_bad_value_is_one_message_naming_it_and_the_accepted_form(case: Case, tmp_path: Path) -> None:
    _files(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "chutes_mcp", *case.args],
        cwd=tmp_path,
        env=_environment(tmp_path, case.env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert result.returncode == case.code, output
    for said in case.says:
        assert said in result.stderr, f"{said!r} not in:\n{result.stderr}"
    # One message: argparse's follows its usage lines; a configuration error's details are indented.
    messages = [line for line in result.stderr.splitlines() if line and not line.startswith(("usage:", " "))]
    assert len(messages) == 1, result.stderr
    assert result.stdout == ""


def _wait_for(predicate: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def slow_sim() -> object:
    """A simulator that takes its time: the first token after 1 s, then 5 tokens a second."""
    with sim_process("--ttft-ms", "1000", "--tokens-per-s", "5") as sim:
        yield sim


def test_ctrl_c_during_a_chat_is_one_line_and_exit_130(slow_sim: SimProcess, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chutes_mcp", "call", "chat", json.dumps({"prompt": "tell me a story"})],
        env=server_env(slow_sim, tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Interrupted once the request is at the simulator, while the answer is still coming.
        _wait_for(lambda: slow_sim.stats()["streams"]["open"] >= 1, 60)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr
    assert stderr.strip() == "chutes-mcp: interrupted"
    assert stdout == ""
    _wait_for(lambda: slow_sim.stats()["streams"]["open"] == 0, 30)  # the upstream stream was closed


@pytest.mark.parametrize(
    ("args", "ready"),
    [
        (("sim", "--port", "0"), "chutes-mcp sim: serving"),
        (("serve", "--transport", "http", "--port", "0", "--sim"), "chutes-mcp serve: listening on"),
    ],
    ids=["sim", "serve-http"],
)
def test_ctrl_c_stops_a_server_with_one_line_and_exit_130(
    args: tuple[str, ...], ready: str, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chutes_mcp", *args],
        env=_environment(tmp_path, {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = []
        deadline = time.monotonic() + 60
        while not any(ready in line for line in seen):
            assert time.monotonic() < deadline, "".join(seen)
            seen.append(process.stderr.readline())
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "Traceback" not in "".join(seen) + stdout + stderr
    assert stderr.splitlines()[-1] == "chutes-mcp: interrupted"
