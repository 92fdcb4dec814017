"""The README tells the truth: every setting, tool and error code is documented as the code has it, the
client configs are valid JSON, and the quick start's `--sim` commands run."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from chutes_mcp.chutes import errors
from chutes_mcp.config import Settings, env_name, load_settings
from chutes_mcp.server import create_server
from chutes_mcp.server.error_results import INTERNAL_ERROR, INVALID_ARGUMENTS, RESULT_TOO_LARGE, SHUTDOWN

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
CODE_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every Markdown table in `text`, as lists of stripped cells."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def shown_default(value: Any) -> str:
    """How the configuration table writes a default."""
    if value is None:
        return "unset"
    if value in ({}, []):
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def test_configuration_table_lists_every_setting_as_the_code_has_it() -> None:
    rows = {row[0]: row for row in table_rows(section("Configuration")) if row[0].startswith("`")}
    expected = {}
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
        toml_key = "—" if name == "config_file" else f"`{name}`"
        expected[f"`{env_name(name)}`"] = [f"`{env_name(name)}`", toml_key, shown_default(default)]
    assert sorted(rows) == sorted(expected), "settings missing from or unknown to the README table"
    for env, (variable, toml_key, default) in expected.items():
        row = rows[env]
        assert row[:3] == [variable, toml_key, default], row
        assert row[3], f"{env} has no meaning"


def test_every_tool_resource_and_prompt_is_documented() -> None:
    server = create_server(load_settings(api_key=None, oauth_token=None))

    async def listed() -> tuple[list[str], list[str], list[str]]:
        tools = [tool.name for tool in await server.list_tools()]
        resources = [str(r.uri) for r in await server.list_resources()]
        resources += [t.uri_template for t in await server.list_resource_templates()]
        prompts = [prompt.name for prompt in await server.list_prompts()]
        return tools, resources, prompts

    tools, resources, prompts = anyio.run(listed)
    documented = {row[0] for row in table_rows(section("Tools, resources and prompts"))}
    for name in [*tools, *resources, *prompts]:
        assert f"`{name}`" in documented, f"{name} is not in the README's tables"


def _error_classes(cls: type[errors.ChutesError]) -> list[type[errors.ChutesError]]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _error_classes(direct))]


def test_every_error_code_is_documented() -> None:
    documented = {row[0] for row in table_rows(section("Errors"))}
    server_codes = {INVALID_ARGUMENTS, INTERNAL_ERROR, RESULT_TOO_LARGE, SHUTDOWN}
    codes = {cls.code for cls in _error_classes(errors.ChutesError)} | server_codes
    missing = sorted(code for code in codes if f"`{code}`" not in documented)
    assert not missing, f"error codes missing from the README: {missing}"
    unknown = sorted(code for code in documented if code.startswith("`") and code.strip("`") not in codes)
    assert not unknown, f"the README documents codes the code does not have: {unknown}"


def test_client_configs_are_valid_json() -> None:
    blocks = [
        json.loads(body) for lang, body in CODE_BLOCK.findall(section("Client setup")) if lang == "json"
    ]
    assert len(blocks) == 3  # Claude Desktop, VS Code, Cursor
    vscode = next(block for block in blocks if "servers" in block)
    assert "mcpServers" not in vscode
    entry = vscode["servers"]["chutes"]
    assert entry["type"] == "stdio"
    input_id = vscode["inputs"][0]["id"]
    assert entry["env"]["CHUTES_API_KEY"] == f"${{input:{input_id}}}"
    assert vscode["inputs"][0]["password"] is True
    for block in blocks:
        servers = block.get("mcpServers") or block["servers"]
        assert servers["chutes"]["args"] == ["serve"]


def quick_start_calls() -> list[list[str]]:
    commands = []
    for lang, body in CODE_BLOCK.findall(section("Quick start")):
        if lang != "bash":
            continue
        for line in body.splitlines():
            line = line.split("chutes-mcp", 1)[-1] if "chutes-mcp call" in line else ""
            if line.strip().startswith("call") and "--sim" in line:
                commands.append(shlex.split(line.split("#", 1)[0]))
    return commands


@pytest.mark.parametrize("command", quick_start_calls(), ids=lambda c: " ".join(c[:2]))
def test_quick_start_commands_run(command: list[str], tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chutes_mcp", *command],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert isinstance(json.loads(result.stdout), dict)


def test_quick_start_shows_chat_and_the_model_tools() -> None:
    tools = {command[1] for command in quick_start_calls()}
    assert {"chat", "list_models", "pick_model"} <= tools
