"""`chutes-mcp serve --transport http`: security, probes, both eras, bring-your-own-key, scale-out."""

from __future__ import annotations

import base64
import json
import random
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from itertools import cycle
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
import pytest
from hosted_support import sim_handle, status_of
from http_support import HttpServer, http_server
from jsonrpc_support import MCP_HEADERS, initialize
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST
from mcp_support import ERAS, error_of, server_env
from sim_process import SimProcess

from chutes_mcp.sim.identity import demo_api_key

TOKEN = "test-server-token-0123456789"
INITIALIZE = initialize()


@asynccontextmanager
async def http_client(
    url: str, mode: Literal["auto", "legacy"], headers: dict[str, str] | None = None, **kwargs: Any
) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=30, **kwargs) as http,
        Client(streamable_http_client(url, http_client=http), mode=mode) as client,
    ):
        yield client


def post(
    server: HttpServer, headers: dict[str, str] | None = None, body: Any = INITIALIZE
) -> httpx2.Response:
    return httpx2.post(server.url, json=body, headers={**MCP_HEADERS, **(headers or {})}, timeout=30)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_loopback_serves_both_eras_with_progress(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    with http_server(sim, tmp_path) as server:
        async with http_client(server.url, mode) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("chat", {"prompt": "hello"}, progress_callback=on_progress)
    assert names == ["chat", "embed", "list_models", "get_model", "pick_model", "account"]
    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["text"]
    assert progress  # progress reaches HTTP clients: responses are SSE streams, not single JSON bodies


def test_probes_answer_without_auth_and_from_any_host(sim: SimProcess, tmp_path: Path) -> None:
    with http_server(sim, tmp_path, "--auth-token", TOKEN) as server:
        health = httpx2.get(f"{server.base}/healthz", headers={"Host": "10.1.2.3:8000"})
        ready = httpx2.get(f"{server.base}/readyz", headers={"Host": "10.1.2.3:8000"})
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")
    assert ready.json()["models"] == 61


def test_wrong_host_origin_and_oversized_body_are_refused(sim: SimProcess, tmp_path: Path) -> None:
    with http_server(
        sim, tmp_path, "--allowed-hosts", "mcp.example.com", "--max-body-bytes", "65536"
    ) as server:
        assert post(server, {"Host": "evil.example.com"}).status_code == 421
        assert post(server, {"Host": "mcp.example.com"}).status_code == 200
        assert post(server, {"Origin": "http://evil.example.com"}).status_code == 403
        oversized = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * 70_000}}
        assert post(server, body=oversized).status_code == 413


def test_a_non_loopback_bind_without_tokens_does_not_start(sim: SimProcess, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "chutes_mcp",
            "serve",
            "--transport",
            "http",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        env=server_env(sim, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--auth-token" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_body_limit_below_one_byte_does_not_start(sim: SimProcess, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "chutes_mcp", "serve", "--transport", "http", "--port", "0"]
    result = subprocess.run(
        [*command, "--max-body-bytes", "0"],
        env=server_env(sim, tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--max-body-bytes: expected 1 or more, got 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_non_loopback_bind_needs_the_bearer_token(sim: SimProcess, tmp_path: Path) -> None:
    with http_server(
        sim,
        tmp_path,
        "--host",
        "0.0.0.0",
        "--auth-token",
        "old-token-rotating-out",
        CHUTES_MCP_AUTH_TOKENS=TOKEN,
    ) as server:
        missing = post(server)
        wrong = post(server, {"Authorization": "Bearer not-the-token-at-all"})
        right = post(server, {"Authorization": "Bearer old-token-rotating-out"})
        wrong_host = post(
            server, {"Authorization": "Bearer old-token-rotating-out", "Host": "evil.example.com"}
        )
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer ")
    assert wrong.status_code == 401
    assert right.status_code == 200  # the flag's token; CHUTES_MCP_AUTH_TOKENS is overridden by it
    assert wrong_host.status_code == 421  # DNS-rebinding protection stays on for 0.0.0.0


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_bearer_token_from_the_environment(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    with http_server(
        sim, tmp_path, "--host", "0.0.0.0", CHUTES_MCP_AUTH_TOKENS=f"{TOKEN},second-token-0123456789"
    ) as server:
        async with http_client(
            server.url, mode, {"Authorization": "Bearer second-token-0123456789"}
        ) as client:
            result = await client.call_tool("account", {})
    assert not result.is_error


@pytest.mark.anyio
async def test_bring_your_own_key_isolates_tenants(sim: SimProcess, tmp_path: Path) -> None:
    key_a, key_b = demo_api_key("tenant-a"), demo_api_key("tenant-b")
    # One request every 10 s per tenant, burst 1: a tenant that spends its slot waits ~10 s for the next.
    env = {"CHUTES_RATE_LIMIT_RPM": "6", "CHUTES_RATE_LIMIT_BURST": "1", "CHUTES_MAX_RETRIES": "0"}
    httpx2.post(
        f"{sim.url}/_sim/scenario", json={"faults": ["429"] * 5, "route": "chat", "caller": sim_handle(key_a)}
    ).raise_for_status()
    with http_server(sim, tmp_path, "--key-source", "request", "--auth-token", TOKEN, **env) as server:
        tenant_a = {"Authorization": f"Bearer {TOKEN}", "X-Chutes-Api-Key": key_a}
        tenant_b = {"Authorization": f"Bearer {TOKEN}", "X-Chutes-Api-Key": key_b}
        async with (
            http_client(server.url, "auto", tenant_a) as a,
            http_client(server.url, "auto", tenant_b) as b,
        ):
            first = await a.call_tool("chat", {"prompt": "hello"})
            assert error_of(first)["code"] == "rate_limited"
            second_a_done = anyio.Event()

            async def second_a() -> None:
                await a.call_tool("chat", {"prompt": "hello again"})
                second_a_done.set()

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(second_a)  # waits in tenant A's own limiter
                answer = await b.call_tool("chat", {"prompt": "hello"})
                assert not second_a_done.is_set()  # B was served while A still waited
                tasks.cancel_scope.cancel()
        async with http_client(server.url, "auto", {"Authorization": f"Bearer {TOKEN}"}) as no_key:
            missing = await no_key.call_tool("account", {})
    assert not answer.is_error
    assert answer.structured_content is not None
    assert len(answer.structured_content["attempts"]) == 1
    assert error_of(missing)["code"] == "auth_invalid"
    by_user = sim.stats()["requests_by_user"]
    assert by_user[sim_handle(key_b)] == 1
    assert by_user[sim_handle(key_a)] == 1  # A's second call never left A's limiter


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_each_tenant_reads_its_own_limiter_and_breakers_in_the_status(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    key_a, key_b = demo_api_key("tenant-a"), demo_api_key("tenant-b")
    model = "unsloth/Mistral-Nemo-Instruct-2407"
    httpx2.post(
        f"{sim.url}/_sim/scenario", json={"faults": ["503"], "route": "chat", "caller": sim_handle(key_a)}
    ).raise_for_status()
    with http_server(
        sim, tmp_path, "--key-source", "request", "--auth-token", TOKEN, CHUTES_MAX_RETRIES="0"
    ) as server:
        tenant_a = {"Authorization": f"Bearer {TOKEN}", "X-Chutes-Api-Key": key_a}
        tenant_b = {"Authorization": f"Bearer {TOKEN}", "X-Chutes-Api-Key": key_b}
        async with (
            http_client(server.url, mode, tenant_a) as a,
            http_client(server.url, mode, tenant_b) as b,
            http_client(server.url, mode, {"Authorization": f"Bearer {TOKEN}"}) as nobody,
        ):
            failed = await a.call_tool("chat", {"prompt": "hello", "model": model, "timeout_s": 10})
            await a.call_tool("account", {})
            await b.call_tool("account", {})
            seen_by_a, seen_by_b, seen_by_nobody = [await status_of(c) for c in (a, b, nobody)]
    assert error_of(failed)["code"] == "model_unavailable"
    sent = sim.stats()["callers"]
    # Whose calls went through which limiter: every slot a tenant took is a request Chutes saw from it.
    assert seen_by_a["limiter"]["acquired"] == sent[sim_handle(key_a)]["requests"] >= 2
    assert seen_by_b["limiter"]["acquired"] == sent[sim_handle(key_b)]["requests"] >= 1
    assert [(x["model"], x["consecutive_failures"]) for x in seen_by_a["breakers"]] == [(model, 1)]
    assert seen_by_b["breakers"] == []
    # A request that names no tenant has no limiter or breakers of its own to show.
    assert (seen_by_nobody["limiter"], seen_by_nobody["breakers"]) == (None, [])
    assert seen_by_nobody["catalog"]["models"] == seen_by_a["catalog"]["models"] == 61


class _Alternating(httpx2.AsyncBaseTransport):
    """Sends each request to the next of several servers, as a round-robin load balancer does."""

    def __init__(self, ports: list[int]) -> None:
        self._ports = cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.sent: list[int] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._ports)
        self.sent.append(port)
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_two_replicas_serve_one_session_alternately(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    with http_server(sim, tmp_path / "a") as one, http_server(sim, tmp_path / "b") as two:
        ports = [httpx2.URL(one.url).port, httpx2.URL(two.url).port]
        transport = _Alternating([port for port in ports if port is not None])
        async with http_client(one.url, mode, transport=transport) as client:
            tools = await client.list_tools()
            listed = await client.call_tool("list_models", {"limit": 2})
            answer = await client.call_tool("chat", {"prompt": "hello"})
            account = await client.call_tool("account", {})
    assert len(tools.tools) == 6
    assert not listed.is_error
    assert not answer.is_error
    assert not account.is_error
    assert set(transport.sent) == set(ports)  # both replicas answered parts of the one session


@pytest.mark.anyio
async def test_access_logs_are_json_with_ids_tool_model_cost_and_no_secret(
    sim: SimProcess, tmp_path: Path
) -> None:
    key = demo_api_key("log-reader")
    with http_server(
        sim, tmp_path, "--auth-token", TOKEN, CHUTES_LOG_FORMAT="json", CHUTES_API_KEY=key
    ) as server:
        async with http_client(
            server.url, "auto", {"Authorization": f"Bearer {TOKEN}", "X-Request-Id": "trace-42"}
        ) as client:
            result = await client.call_tool("chat", {"prompt": "hello"})
            details = await client.call_tool("get_model", {"model": "chutes-default"})
        # The request's own line is written once its response has gone out: wait for them to arrive.
        with anyio.move_on_after(10):
            while "".join(server.log_lines).count('"http.request"') < 2:  # noqa: ASYNC110 (another process's pipe)
                await anyio.sleep(0.05)
        lines = list(server.log_lines)
    assert not result.is_error
    assert not details.is_error
    records = [json.loads(line) for line in lines if line.startswith("{")]
    # One line for the request, the tool call's fields included.
    (line,) = [r for r in records if r.get("tool") == "chat"]
    # The model named by its id, also where the result describes it whole.
    (described,) = [r for r in records if r.get("tool") == "get_model"]
    assert described["model"] == "zai-org/GLM-4.7-TEE"
    assert (line["event"], line["request_id"]) == ("http.request", "trace-42")
    assert (line["method"], line["path"], line["status"]) == ("POST", "/mcp", 200)
    assert (line["tool"], line["outcome"], line["model"]) == ("chat", "ok", "zai-org/GLM-4.7-TEE")
    assert line["cost_usd"] > 0
    assert line["latency_ms"] > 0
    assert not [r for r in records if r.get("event") == "tool.call"]
    # Not one more per upstream request from the HTTP library.
    assert not [r for r in records if r.get("logger") in ("httpx2", "httpcore2")]
    text = "".join(lines)
    assert TOKEN not in text
    assert key not in text
    assert key.split(".")[-1] not in text


# -- request bodies ------------------------------------------------------------------------------------


def image_message(size: int) -> dict[str, Any]:
    """A user message with a PNG of `size` bytes inline, as hosts send images: base64 in a data: URL."""
    png = b"\x89PNG\r\n\x1a\n" + random.Random(size).randbytes(size - 8)
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    return {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": url}},
        ],
    }


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_a_5_mb_image_fits_by_default(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    with http_server(sim, tmp_path) as server:
        async with http_client(server.url, mode) as client:
            result = await client.call_tool(
                "chat", {"messages": [image_message(5_000_000)], "model": "chutes-vision"}
            )
    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert result.structured_content["model_used"] == "chutesai/Mistral-Small-3.2-24B-Instruct-2506"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_a_body_over_the_limit_is_an_error_the_host_can_show(
    sim: SimProcess, tmp_path: Path, mode: Literal["auto", "legacy"]
) -> None:
    with http_server(sim, tmp_path, "--max-body-bytes", str(1024 * 1024)) as server:
        async with http_client(server.url, mode) as client:
            with pytest.raises(MCPError) as refused:
                await client.call_tool(
                    "chat", {"messages": [image_message(1_500_000)], "model": "chutes-vision"}
                )
    message = refused.value.error.message
    assert message.startswith("Request body too large: this server accepts at most 1.0 MiB (1,048,576 bytes)")
    assert "https:// URL" in message
    assert "--max-body-bytes" in message
    assert "chat" not in sim.stats()["requests"]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_body_gets_a_json_rpc_error(sim: SimProcess, tmp_path: Path, chunked: bool) -> None:
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "chat", "arguments": {"messages": [image_message(100_000)]}},
    }
    body = json.dumps(call).encode()
    content: bytes | Iterator[bytes] = (
        iter([body[i : i + 16384] for i in range(0, len(body), 16384)]) if chunked else body
    )
    with http_server(sim, tmp_path, "--max-body-bytes", "65536") as server:
        response = httpx2.post(
            server.url,
            content=content,
            headers={**MCP_HEADERS, "mcp-protocol-version": "2025-11-25"},
            timeout=30,
        )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert ("content-length" in response.request.headers) is not chunked
    error = response.json()
    assert (error["jsonrpc"], error["id"], error["error"]["code"]) == ("2.0", 7, INVALID_REQUEST)
    assert "at most 0.1 MiB (65,536 bytes)" in error["error"]["message"]
    assert error["error"]["data"] == {"max_body_bytes": 65536}
