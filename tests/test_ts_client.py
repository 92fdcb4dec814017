"""The official MCP TypeScript SDK client against `chutes-mcp serve`, over stdio and streamable HTTP.

A second client stack beside the Python SDK's, and the one most hosts embed: what one client accepts,
another might not. Three clients, each over both transports:
- `@modelcontextprotocol/sdk` 1.x, the line Claude Desktop, VS Code and Cursor build on (2025-11-25);
- `@modelcontextprotocol/client` 2.x in its default 2025-11-25 handshake,
- and negotiating the era as hosts that speak both do (`mode: "auto"`), which must end on 2026-07-28
  (`server/discover`, no `initialize`) rather than fall back.

`tests/ts/client.mjs` runs every scenario on one connection per client and transport and prints what
it saw; the tests here judge that report, one test per scenario. The server runs against the session's
simulator process, so the slow scenarios can tune its pace and count the streams it closed early.

The clients are pinned in package.json / package-lock.json and installed, with the Node 22 they run
on, by `npm ci`; without them these tests skip (fail under CHUTES_MCP_REQUIRE_NODE_TOOLS=1, as in CI).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from http_support import http_server
from mcp_support import server_env
from node_support import ROOT, install_problem, node, unavailable
from sim_process import SimProcess

SCRIPT = ROOT / "tests" / "ts" / "client.mjs"
PACKAGES = ("@modelcontextprotocol/sdk", "mcp-client-2")
# One run does every scenario of one client; the slowest take seconds. A hang fails instead.
RUN_TIMEOUT_S = 180
SCENARIOS = (
    "lists",
    "chat",
    "embed",
    "list_models",
    "get_model",
    "pick_model",
    "account",
    "tool_error",
    "progress",
    "cancel",
    "resources_read",
    "completion",
    "prompts_get",
    "big_embed",
)
TOOLS = ["chat", "embed", "list_models", "get_model", "pick_model", "account"]
STATIC_RESOURCES = [
    "chutes://models",
    "chutes://models/tee",
    "chutes://embedding-models",
    "chutes://aliases",
    "chutes://status",
]
TEMPLATE = "chutes://models/{+model_id}"
PLAIN = "unsloth/Mistral-Nemo-Instruct-2407"
INVALID_PARAMS = -32602

Report = dict[str, Any]


@dataclass(frozen=True)
class TsClient:
    sdk: Literal["v1", "v2"]
    era: Literal["legacy", "modern"]
    transport: Literal["stdio", "http"]

    @property
    def name(self) -> str:
        return f"{self.sdk}-{self.era}-{self.transport}"

    @property
    def protocol_version(self) -> str:
        return "2026-07-28" if self.era == "modern" else "2025-11-25"


CLIENTS = (
    TsClient("v1", "legacy", "stdio"),
    TsClient("v1", "legacy", "http"),
    TsClient("v2", "legacy", "stdio"),
    TsClient("v2", "legacy", "http"),
    TsClient("v2", "modern", "stdio"),
    TsClient("v2", "modern", "http"),
)


CLIENT_PARAMS = [pytest.param(client, id=client.name) for client in CLIENTS]


def _run(node_path: str, client: TsClient, sim: SimProcess, cache_dir: Path) -> Report:
    sim.reset()
    config: dict[str, Any] = {
        "sdk": client.sdk,
        "era": client.era,
        "transport": client.transport,
        "sim": sim.url,
        "only": list(SCENARIOS),
    }
    with ExitStack() as stack:
        log: list[str] = []
        if client.transport == "http":
            server = stack.enter_context(http_server(sim, cache_dir, "--log-level", "WARNING"))
            config["url"] = server.url
            log = server.log_lines
        else:
            env = server_env(sim, cache_dir)
            config["server"] = {"command": sys.executable, "args": ["-m", "chutes_mcp", "serve"], "env": env}
        try:
            completed = subprocess.run(
                [node_path, str(SCRIPT)],
                input=json.dumps(config),
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT_S,
                cwd=ROOT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"runError": f"{SCRIPT.name} did not finish in {RUN_TIMEOUT_S} s", "serverLog": log}
    described = f"exit {completed.returncode}\nstderr: {completed.stderr[-4000:]}"
    try:
        report: Report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        return {"runError": f"no JSON report: {described}\nstdout: {completed.stdout[-4000:]}"}
    if completed.returncode != 0:
        report["runError"] = described
    report["serverLog"] = "".join(log[-40:])
    return report


@pytest.fixture(scope="module")
def run_client(
    sim_session: SimProcess, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[TsClient], Report]:
    """Each client's report, from one run of client.mjs made the first time a test asks for it."""
    node_path = node()
    if node_path is None:
        unavailable("node is not on PATH: install Node.js (20 or newer) with npm, then run `npm ci`")
    problem = install_problem(*PACKAGES)
    if problem is not None:
        unavailable(problem)
    version = subprocess.run(
        [node_path, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    if int(version.lstrip("v").split(".")[0]) < 20:
        unavailable(f"the TypeScript SDK clients need Node.js 20 or newer, and {node_path} is {version}")
    reports: dict[TsClient, Report] = {}

    def report_of(client: TsClient) -> Report:
        if client not in reports:
            reports[client] = _run(node_path, client, sim_session, tmp_path_factory.mktemp(client.name))
        return reports[client]

    return report_of


def observed(report: Report, scenario: str) -> Any:
    """What the client saw in `scenario`; fails with the client's error and the server's log if it threw."""
    context = f"server log:\n{report.get('serverStderr') or report.get('serverLog') or '(empty)'}"
    assert "runError" not in report, f"{report['runError']}\n{context}"
    assert "connectError" not in report, f"{report['connectError']}\n{context}"
    outcome = report["scenarios"][scenario]
    assert outcome["ok"], f"{outcome['error']}\n{outcome.get('stack')}\n{context}"
    return outcome["data"]


def structured(result: dict[str, Any]) -> dict[str, Any]:
    assert result["isError"] is False, result["text"]
    assert result["contentTypes"] == ["text"]
    content: dict[str, Any] = result["structuredContent"]
    return content


def error_payload(result: dict[str, Any]) -> dict[str, Any]:
    """The JSON object a tool error ends with; asserts the result is an error in the house shape."""
    assert result["isError"] is True, result
    text: str = result["text"]
    payload: dict[str, Any] = json.loads(text.rsplit("\n", 1)[-1])
    assert text.startswith(f"{payload['code']}: "), text
    assert f"Hint: {payload['hint']}" in text
    return payload


# -- connection and lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_connects_in_its_era(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    report = run_client(client)
    assert "runError" not in report, report["runError"]
    assert "connectError" not in report, report["connectError"]
    assert report["protocolVersion"] == client.protocol_version
    assert report["serverVersion"]["name"] == "chutes-mcp"
    assert "closeError" not in report, report["closeError"]


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_lists_tools_resources_templates_and_prompts(
    run_client: Callable[[TsClient], Report], client: TsClient
) -> None:
    lists = observed(run_client(client), "lists")
    assert [tool["name"] for tool in lists["tools"]] == TOOLS
    for tool in lists["tools"]:
        assert tool["description"], tool["name"]
        assert tool["inputType"] == tool["outputType"] == "object", tool["name"]
        assert "readOnlyHint" in tool["annotations"], tool["name"]
    assert [resource["uri"] for resource in lists["resources"]] == STATIC_RESOURCES
    assert {resource["mimeType"] for resource in lists["resources"]} == {"application/json"}
    assert [template["uriTemplate"] for template in lists["templates"]] == [TEMPLATE]
    prompts = {prompt["name"]: prompt["arguments"] for prompt in lists["prompts"]}
    assert prompts == {
        "private_chat": [{"name": "request", "required": True}, {"name": "model", "required": False}],
        "second_opinion": [
            {"name": "question", "required": True},
            {"name": "first_answer", "required": False},
            {"name": "first_model", "required": False},
        ],
        "choose_model": [{"name": "task", "required": False}, {"name": "needs", "required": False}],
    }


# -- every tool ----------------------------------------------------------------------------------------------
# The clients validate structuredContent against each tool's outputSchema themselves: a result that
# broke its own schema would have thrown, and shown up here as a failed scenario.


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_chat(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    result = observed(run_client(client), "chat")
    reply = structured(result)
    assert reply["text"].strip()
    assert result["text"].startswith(reply["text"])
    assert reply["model_used"] == PLAIN
    assert reply["usage"]["completion_tokens"] > 0
    assert reply["cost_usd"] > 0


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_embed(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    vectors = structured(observed(run_client(client), "embed"))
    assert vectors["model"] == "BAAI/bge-m3"
    assert vectors["count"] == 2
    assert vectors["dimensions"] == 1024
    assert [len(vector) for vector in vectors["vectors"]] == [1024, 1024]


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_list_models(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    models = structured(observed(run_client(client), "list_models"))
    assert len(models["models"]) == 3
    assert models["total"] > 3
    assert models["source"] in ("live", "cache")  # from the simulator, not the bundled fallback
    assert models["next_cursor"]


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_get_model(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    details = structured(observed(run_client(client), "get_model"))
    assert details["model"]["id"] == "zai-org/GLM-4.7-TEE"
    assert details["model"]["tee"] is True


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_pick_model(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    picked = structured(observed(run_client(client), "pick_model"))
    assert picked["task"] == "coding"
    assert [pick["rank"] for pick in picked["picks"]] == [1, 2]
    assert all(pick["id"] and pick["reasons"] for pick in picked["picks"])


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_account(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    account = structured(observed(run_client(client), "account"))
    assert account["balance_usd"] == 25
    assert account["daily_quota"] == 2000


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_a_bad_argument_is_a_typed_tool_error(
    run_client: Callable[[TsClient], Report], client: TsClient
) -> None:
    payload = error_payload(observed(run_client(client), "tool_error"))
    assert payload["code"] == "invalid_arguments"
    assert "verbose" in payload["message"]


# -- progress and cancellation -----------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_progress_keeps_a_slow_call_alive(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    seen = observed(run_client(client), "progress")
    # The premise: the call outlived its timeout, which only resetTimeoutOnProgress allowed.
    assert seen["elapsedMs"] > seen["timeoutMs"]
    reply = structured(seen["result"])
    assert reply["model_used"] == PLAIN
    steps = [notification["progress"] for notification in seen["notifications"]]
    assert len(steps) >= 3, steps
    assert steps == sorted(set(steps)), steps
    assert all(notification["message"] for notification in seen["notifications"])


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_cancel_closes_the_upstream_stream(
    run_client: Callable[[TsClient], Report], client: TsClient
) -> None:
    seen = observed(run_client(client), "cancel")
    assert seen["aborted"] is True
    assert "rejected" in seen["outcome"], seen["outcome"]  # an aborted call never resolves
    assert seen["openAtAbort"] == 1
    assert seen["closedEarly"] == 1, seen
    assert seen["completed"] == 0, seen
    assert seen["openAfter"] == 0
    assert seen["nextCall"] == {"isError": False}


# -- resources, completion, prompts -------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_resources_read_and_the_model_template(
    run_client: Callable[[TsClient], Report], client: TsClient
) -> None:
    read = observed(run_client(client), "resources_read")
    assert list(read["static"]) == STATIC_RESOURCES
    for uri, contents in read["static"].items():
        assert [(content["uri"], content["mimeType"]) for content in contents] == [(uri, "application/json")]
    models = read["static"]["chutes://models"][0]["json"]
    assert models["count"] == len(models["models"]) > 0
    assert read["static"]["chutes://status"][0]["json"]["catalog"]["models"] == models["count"]
    for contents in read["template"].values():
        assert len(contents) == 1
        assert contents[0]["mimeType"] == "application/json"
        assert contents[0]["json"]["model"]["id"] == "zai-org/GLM-4.7-TEE"
        assert "chutes-default" in contents[0]["json"]["aliases"]
    missing = read["missing"]["rejected"]
    assert missing["protocolError"] is True
    assert missing["code"] == INVALID_PARAMS
    assert "model_not_found" in missing["message"]


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_completion_of_the_template_and_prompt_arguments(
    run_client: Callable[[TsClient], Report], client: TsClient
) -> None:
    completed = observed(run_client(client), "completion")
    template = completed["templateModelId"]["values"]
    assert "zai-org/GLM-4.7-TEE" in template
    assert all(value.startswith("zai-org/GLM") for value in template), template
    assert completed["chooseModelTask"]["values"] == ["coding"]
    private = completed["privateChatModel"]["values"]
    assert private
    assert all(value.endswith("-TEE") for value in private), private
    first = completed["secondOpinionFirstModel"]["values"]
    assert first
    assert all("deepseek" in value.lower() for value in first), first
    for completion in completed.values():
        assert completion["total"] >= len(completion["values"])


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_prompts_get(run_client: Callable[[TsClient], Report], client: TsClient) -> None:
    prompts = observed(run_client(client), "prompts_get")
    for name in ("private_chat", "second_opinion", "choose_model"):
        messages = prompts[name]
        assert [(message["role"], message["type"]) for message in messages] == [("user", "text")], name
    assert "Summarise this contract." in prompts["private_chat"][0]["text"]
    assert "tee_only" in prompts["private_chat"][0]["text"]
    assert "Is P = NP?" in prompts["second_opinion"][0]["text"]
    assert "coding" in prompts["choose_model"][0]["text"]
    refused = prompts["unknownArgument"]["rejected"]
    assert refused["code"] == INVALID_PARAMS
    assert "colour" in refused["message"]


# -- the 10 MiB rule -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENT_PARAMS)
def test_a_result_past_10_mib_is_refused_and_the_connection_survives(
    run_client: Callable[[TsClient], Report], client: TsClient
) -> None:
    seen = observed(run_client(client), "big_embed")
    assert "rejected" not in seen["outcome"], seen["outcome"]  # the connection itself failed
    result = seen["outcome"]["resolved"]
    if result["isError"]:
        payload = json.loads(result["text"].rsplit("\n", 1)[-1])
        assert result["text"].startswith(f"{payload['code']}: ")
        assert payload["hint"]
    else:
        assert (result["count"], result["dimensions"], result["vectors"]) == (1024, 4096, 1024)
    assert seen["next"] == {"isError": False}
    assert seen["transportErrors"] == []
