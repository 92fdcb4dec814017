"""The cheap clients: raw JSON-RPC POSTs in the 2026-07-28 form, and chat straight to the simulator.

The load generator shares the 2 cores with the server and the simulator, so it must cost little per
call: one pooled `httpx2.AsyncClient`, a body serialized once per tool, and the SSE answer read to its
end and decoded once. A 2026-07-28 request needs no handshake and no session: the protocol version and
client capabilities travel in each request's `_meta`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx2

from benchmarks.processes import API_KEY
from chutes_mcp.chutes.chat.request import ChatRequest, build_chat_body

PROTOCOL = "2026-07-28"
_META = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
    "io.modelcontextprotocol/clientInfo": {"name": "chutes-mcp-benchmarks", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
_ids = itertools.count(1)


class RpcError(RuntimeError):
    pass


class RawToolCaller:
    """`tools/call` of one tool with fixed arguments, as a bare POST."""

    def __init__(self, http: httpx2.AsyncClient, url: str, tool: str, arguments: dict[str, Any]) -> None:
        self._http = http
        self._url = url
        params = {"name": tool, "arguments": arguments, "_meta": _META}
        body = {"jsonrpc": "2.0", "id": 0, "method": "tools/call", "params": params}
        # The id is the only part that changes; splice it into the serialized body.
        head, _, tail = json.dumps(body, separators=(",", ":")).partition('"id":0')
        self._head = head + '"id":'
        self._tail = tail
        self._headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
            "MCP-Protocol-Version": PROTOCOL,
            "Mcp-Method": "tools/call",
            "Mcp-Name": tool,
        }

    async def call(self) -> dict[str, Any]:
        content = f"{self._head}{next(_ids)}{self._tail}".encode()
        response = await self._http.post(self._url, content=content, headers=self._headers)
        if response.status_code != 200:
            raise RpcError(f"HTTP {response.status_code}: {response.text[:200]}")
        return _last_message(response)


def _last_message(response: httpx2.Response) -> dict[str, Any]:
    text = response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        message: dict[str, Any] = json.loads(text)
    else:
        data = [line[5:] for line in text.splitlines() if line.startswith("data:")]
        if not data:
            raise RpcError(f"no data in the event stream: {text[:200]}")
        message = json.loads(data[-1])
    if "error" in message:
        raise RpcError(str(message["error"]))
    result: dict[str, Any] = message["result"]
    if result.get("isError"):
        raise RpcError(str(result.get("content")))
    return result


def direct_chat_body(model: str, prompt: str, max_tokens: int) -> bytes:
    """The body `chat` sends upstream for these arguments: the server's own request builder."""
    request = ChatRequest(model=model, messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens)
    return json.dumps(build_chat_body(request, stream=True)).encode()


class DirectChat:
    """The same chat request, sent straight to the simulator: streamed, read to the end."""

    def __init__(self, http: httpx2.AsyncClient, sim_url: str, arguments: dict[str, Any]) -> None:
        self._http = http
        self._url = f"{sim_url}/v1/chat/completions"
        self._body = direct_chat_body(arguments["model"], arguments["prompt"], arguments["max_tokens"])
        self._headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}

    async def stream(self, on_first_token: Callable[[], None] | None = None) -> int:
        """Read the whole stream and decode each chunk, as any client that uses the answer must; call
        `on_first_token()` at the first chunk with content. Returns the number of chunks."""
        chunks = 0
        first = on_first_token
        async with self._http.stream(
            "POST", self._url, content=self._body, headers=self._headers
        ) as response:
            if response.status_code != 200:
                raise RpcError(f"simulator answered {response.status_code}")
            async for line in response.aiter_lines():
                if not line.startswith("data: {"):
                    continue
                chunk = json.loads(line[6:])
                chunks += 1
                if first is not None and chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                    first()
                    first = None
        return chunks
