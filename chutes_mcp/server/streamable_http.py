"""Streamable HTTP: who may call (server tokens, or Sign in with Chutes), from where (Host and Origin),
how much (body size, connections, time to send a request head), plus health probes, JSON access logs
and an orderly stop.

Secure by default: loopback binds need nothing; any other bind needs server tokens, Sign in with Chutes
(`--auth chutes`, with the `--public-url` its metadata names) or an explicit `--no-auth`, and
DNS-rebinding protection always stays on, with loopback, the public URL's host and `--allowed-hosts` as
the allowed Host values (the SDK would switch it off for 0.0.0.0).

Server tokens are not OAuth: no authorization server issues them, so no metadata is served for them and
a 401 names none (the MCP spec's protected-resource metadata must name at least one, and one that does
not exist would send OAuth clients to a 404). Only `--auth chutes` serves metadata, naming the Chutes IdP.

On SIGTERM or SIGINT the server drains (`shutdown.py`) before uvicorn's own stop: `/readyz` answers
503, new tool calls get 503, and the requests under way get the grace period to finish; tool calls
still running then answer with the `shutdown` error. Only then does uvicorn stop listening and close
the connections, waiting `CLOSING_S` at most for the last responses to go out. A second signal ends
the calls at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import uvicorn
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chutes_mcp.config import DEFAULT_UPSTREAM_CONNECTIONS, check_public_url, is_loopback_host
from chutes_mcp.server.access_log import REQUEST_ID_HEADER, TOOL_CALL_SCOPE_KEY, access_log
from chutes_mcp.server.call_routing import CallRouting
from chutes_mcp.server.http_admission import Admission
from chutes_mcp.server.http_connections import (
    ConnectionLimits,
    accept_errors_logged_sparingly,
    bounded_protocol,
    connection_budget,
)
from chutes_mcp.server.request_headers import RequestHeaders
from chutes_mcp.server.running_calls import InProcessCalls, RunningCalls
from chutes_mcp.server.shutdown import CLOSING_S, Shutdown
from chutes_mcp.server.sign_in import ChutesSignIn

KeySource = Literal["server", "request"]
# A chat with images sent inline: a 5 MB photo is 6.7 MB as a data: URL, and a call may carry two such
# (Chutes itself inlines up to 8 image URLs per request, and states no limit of its own); the SDK's
# default of 4 MiB refuses even one. Every byte of a body is held in memory while it is served.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
# One process is to hold 1,000 streams at once, with room for the clients that come and go around them.
DEFAULT_MAX_CONNECTIONS = 2048
# From a connection's opening (or a request's first byte) to the end of the request head: a head is a
# few hundred bytes, so even a slow link sends it in well under a second; 10 s leaves room for a
# stalled network while a socket that never asks for anything goes within seconds.
DEFAULT_HEADER_TIMEOUT_S = 10.0
# Between the requests of a kept-alive connection.
KEEP_ALIVE_S = 30
# nginx's status for a request whose client closed the connection before the response began.
CLIENT_CLOSED_REQUEST = 499
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
_LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")


class HttpConfigError(ValueError):
    pass


@dataclass(frozen=True)
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    path: str = "/mcp"
    auth_tokens: tuple[str, ...] = field(default=(), repr=False)
    no_auth: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    key_source: KeySource = "server"
    # "chutes": callers sign in with Chutes, whose IdP is `auth_issuer` (the management base URL).
    auth: Literal["chutes"] | None = None
    auth_issuer: str | None = None
    # The URL clients reach the MCP endpoint at, when it is not this bind's (behind a proxy, say).
    public_url: str | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S
    # The pool to Chutes may open this many: descriptors kept for it beside the client connections.
    upstream_connections: int = DEFAULT_UPSTREAM_CONNECTIONS

    def check(self) -> None:
        """Refuse, before binding, a setup that would expose the server without meaning to."""
        if not self.path.startswith("/"):
            raise HttpConfigError(f"--path must start with '/', got {self.path!r}")
        if self.auth_tokens and self.no_auth:
            raise HttpConfigError("--no-auth contradicts --auth-token / CHUTES_MCP_AUTH_TOKENS; give one")
        if self.auth == "chutes":
            self._check_sign_in()
        if self.public_url is not None:
            try:
                check_public_url(self.public_url)
            except ValueError as exc:
                raise HttpConfigError(f"--public-url {exc}, e.g. https://mcp.example.com/mcp") from None
        if not is_loopback_host(self.host) and not self.auth_tokens and not self.no_auth and not self.auth:
            raise HttpConfigError(
                f"binding {self.host} exposes the server beyond this machine: set bearer tokens with "
                "--auth-token or CHUTES_MCP_AUTH_TOKENS (comma list), have callers sign in with "
                "--auth chutes, or pass --no-auth to accept that"
            )
        if self.max_body_bytes <= 0:
            raise HttpConfigError(f"--max-body-bytes must be a positive number, got {self.max_body_bytes}")
        if self.max_connections <= 0:
            raise HttpConfigError(f"--max-connections must be a positive number, got {self.max_connections}")
        if not 0 < self.header_timeout_s <= 3600:
            raise HttpConfigError(
                f"--header-timeout must be a number of seconds above 0 and at most 3600, got {self.header_timeout_s}"
            )
        if any(len(token) < 16 for token in self.auth_tokens):
            raise HttpConfigError(
                "--auth-token / CHUTES_MCP_AUTH_TOKENS: each token must be at least 16 characters long, "
                "e.g. from `openssl rand -hex 24`"
            )

    def _check_sign_in(self) -> None:
        if self.auth_tokens or self.no_auth:
            given = "--no-auth" if self.no_auth else "--auth-token / CHUTES_MCP_AUTH_TOKENS"
            raise HttpConfigError(
                f"--auth chutes contradicts {given}: callers either sign in or do not; give one"
            )
        if self.key_source == "request":
            raise HttpConfigError(
                "--auth chutes already runs each call on its caller's own Chutes sign-in; drop --key-source request"
            )
        if self.public_url is None and not is_loopback_host(self.host):
            raise HttpConfigError(
                f"--auth chutes on {self.host} needs --public-url (or CHUTES_MCP_PUBLIC_URL): the https:// URL "
                "clients reach the MCP endpoint at, e.g. https://mcp.example.com/mcp, which the sign-in "
                "metadata names"
            )

    @property
    def resource_url(self) -> str:
        """The MCP endpoint's URL as clients use it: the public URL, else this bind's own address."""
        if self.public_url is not None:
            return self.public_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"


def transport_security(options: HttpOptions) -> TransportSecuritySettings:
    public: tuple[str, ...] = ()
    public_origin: tuple[str, ...] = ()
    if options.public_url is not None:
        # The server is told where clients reach it: requests addressed there are its own.
        parts = urlsplit(options.public_url)
        public, public_origin = (parts.netloc,), (f"{parts.scheme}://{parts.netloc}",)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*_LOOPBACK_HOSTS, *public, *options.allowed_hosts],
        allowed_origins=[*_LOOPBACK_ORIGINS, *public_origin, *options.allowed_origins],
    )


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class StaticTokenVerifier(TokenVerifier):
    """Server tokens from configuration; several at once so they can be rotated without downtime."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._digests = [_digest(token) for token in tokens]

    async def verify_token(self, token: str) -> AccessToken | None:
        # Compare digests against every configured token, so timing tells nothing about which or how
        # much of a token matched.
        offered = _digest(token)
        matched = [hmac.compare_digest(offered, digest) for digest in self._digests]
        if not any(matched):
            return None
        fingerprint = offered.hex()[:12]
        return AccessToken(token=f"sha256:{fingerprint}", client_id=f"token-{matched.index(True)}", scopes=[])


def auth_settings(options: HttpOptions) -> AuthSettings:
    """Server tokens' settings: no resource URL, so the SDK serves no metadata and its 401 names none.
    `AuthSettings` requires an issuer even so; with nothing served, it is never advertised."""
    return AuthSettings(issuer_url=options.resource_url, resource_server_url=None)


class AccessLog:
    """One line per HTTP request: request id, method, path, status, latency, and for a tool call the
    tool, its outcome, model and cost. Never headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A caller's (or a proxy's) request id is kept, so one id follows a call through the logs.
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        request_id = given[:64] if given.isprintable() and given else uuid.uuid4().hex[:16]
        tool_call: dict[str, Any] = {}
        scope = {**scope, TOOL_CALL_SCOPE_KEY: tool_call}
        if not given:
            scope["headers"] = [*scope["headers"], (REQUEST_ID_HEADER.encode(), request_id.encode())]
        started = time.perf_counter()
        status: int | None = None
        client_left = False

        async def receive_noting_disconnect() -> Message:
            nonlocal client_left
            message = await receive()
            client_left = client_left or message["type"] == "http.disconnect"
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                # The SDK answers some requests with an `HTTPStatus` member: logged as a plain number.
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive_noting_disconnect, send_with_id)
        finally:
            if status is None and client_left:
                # Nothing went out: the client left before the answer began (a 2026-era client that
                # cancels closes its request). Not the server's failure, so not a 500.
                status = CLIENT_CLOSED_REQUEST
                tool_call["outcome"] = "disconnected"
            access_log.info(
                "http.request",
                request_id=request_id,
                method=scope["method"],
                path=scope["path"],
                # Without a response the app failed, and uvicorn answers 500.
                status=500 if status is None else status,
                latency_ms=round((time.perf_counter() - started) * 1000, 2),
                **tool_call,
            )


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """Bind before the server starts, so a taken port is one clear error and port 0 is known at once."""
    sock = socket.socket(
        socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now lets clients connect (into the backlog) before uvicorn's loop is up.
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise HttpConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, whose SIGTERM and SIGINT go to `serve_http` first: it drains the calls, then
    lets uvicorn stop."""

    def __init__(self, config: uvicorn.Config, on_signal: Callable[[int], None]) -> None:
        super().__init__(config)
        self._on_signal = on_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_signal(sig)


@contextlib.contextmanager
def _signals_to(on_signal: Callable[[int], None]) -> Iterator[None]:
    """SIGTERM and SIGINT to `on_signal` from before the server says it listens (uvicorn takes them
    only once it serves): a signal that came first would end the process with a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals; uvicorn leaves them alone there too
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: on_signal(signum)) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _offer(requests: MemoryObjectSendStream[int], sig: int) -> None:
    with contextlib.suppress(anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
        requests.send_nowait(sig)


async def _stop_on_signals(
    requests: MemoryObjectReceiveStream[int],
    server: uvicorn.Server,
    admission: Admission,
    shutdown: Shutdown,
    grace_s: float,
    stopped_by: list[int],
) -> None:
    """The first signal drains the server, then lets uvicorn stop; a later one ends the calls at once."""
    first = await requests.receive()
    stopped_by.append(first)
    access_log.info("http.stopping", signal=signal.Signals(first).name, calls=shutdown.running)
    async with anyio.create_task_group() as later:

        async def cut_on_another() -> None:
            async for _ in requests:
                shutdown.cut()

        later.start_soon(cut_on_another)
        await shutdown.drain(grace_s, lambda: admission.in_flight)
        later.cancel_scope.cancel()
    server.should_exit = True


ServerFor = Callable[[HttpOptions, ChutesSignIn | None], MCPServer[Any]]


def _http_app(
    options: HttpOptions, server_for: ServerFor, calls: RunningCalls, shutdown: Shutdown, max_connections: int
) -> tuple[ASGIApp, Admission]:
    sign_in = None
    if options.auth == "chutes" and options.auth_issuer is not None:
        sign_in = ChutesSignIn(
            resource_url=options.resource_url, issuer=options.auth_issuer, path=options.path
        )
    sdk_app = RequestHeaders(
        server_for(options, sign_in).streamable_http_app(
            streamable_http_path=options.path,
            stateless_http=True,
            transport_security=transport_security(options),
            max_request_body_size=options.max_body_bytes,
            host=options.host,
        )
    )
    routed = CallRouting(sdk_app, path=options.path, calls=calls, max_body_bytes=options.max_body_bytes)
    admission = Admission(
        routed if sign_in is None else sign_in.front(routed),
        path=options.path,
        max_in_flight=max_connections,
        max_body_bytes=options.max_body_bytes,
        shutdown=shutdown,
    )
    return AccessLog(admission), admission


async def serve_http(
    options: HttpOptions,
    server_for: ServerFor,
    *,
    calls: RunningCalls | None = None,
    shutdown: Shutdown | None = None,
    grace_s: float = 20.0,
) -> int | None:
    """Serve streamable HTTP until a signal stops it (the signal is returned). Stateless, so any replica
    can answer any request.

    `server_for` builds the server once the port is bound, so what it advertises names the real port
    (with `--port 0`, the one the system picked). `calls` finds running calls to cancel (those of every
    replica, with Redis), by default this process's. `shutdown` must be the one the server was created
    with; it is drained for `grace_s` when a signal comes.
    """
    options.check()
    shutdown = shutdown or Shutdown()
    if options.no_auth and not is_loopback_host(options.host):
        access_log.warning(
            "http.no_auth", host=options.host, detail="anyone who can reach this port can use it"
        )
    max_connections, backlog = connection_budget(options.max_connections, options.upstream_connections)
    sock = bind(options.host, options.port, backlog)
    try:
        options = replace(options, port=sock.getsockname()[1])
        app, admission = _http_app(options, server_for, calls or InProcessCalls(), shutdown, max_connections)
    except BaseException:
        sock.close()
        raise
    config = uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        http=bounded_protocol(ConnectionLimits(max_connections, options.header_timeout_s)),
        # No WebSocket route: an upgrade would leave the HTTP protocol's bounds behind.
        ws="none",
        backlog=backlog,
        timeout_keep_alive=KEEP_ALIVE_S,
        timeout_graceful_shutdown=CLOSING_S,
    )
    loop = asyncio.get_running_loop()
    requests, received = anyio.create_memory_object_stream[int](8)

    def on_signal(sig: int) -> None:
        # Called from uvicorn's signal handler: the loop takes it from there.
        loop.call_soon_threadsafe(_offer, requests, sig)

    uvicorn_server = _Server(config, on_signal)
    stopped_by: list[int] = []
    with sock, accept_errors_logged_sparingly(loop), _signals_to(on_signal):
        shown = f"[{options.host}]" if ":" in options.host else options.host
        sys.stderr.write(
            f"chutes-mcp serve: listening on http://{shown}:{sock.getsockname()[1]}{options.path}\n"
        )
        sys.stderr.flush()
        async with anyio.create_task_group() as stopping:
            stopping.start_soon(
                _stop_on_signals, received, uvicorn_server, admission, shutdown, grace_s, stopped_by
            )
            await uvicorn_server.serve([sock])
            stopping.cancel_scope.cancel()
    return stopped_by[0] if stopped_by else None
