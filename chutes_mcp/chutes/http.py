"""The one HTTP connection pool of the process, and the rule for where credentials may go."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
import httpx2

from chutes_mcp import __version__
from chutes_mcp.config import Settings, credentials_allowed

USER_AGENT = f"chutes-mcp/{__version__}"
_CONNECT_TIMEOUT_S = 10.0
_WRITE_TIMEOUT_S = 30.0


class InsecureCredentialError(RuntimeError):
    """A request carrying a credential was about to leave over plain HTTP to a non-loopback host."""


async def _guard_credentials(request: httpx2.Request) -> None:
    # Last line of defence: whatever built the request, a credential never leaves over plain HTTP to
    # another machine. Config validation already rejects such base URLs; this covers absolute URLs.
    url = request.url
    if "authorization" in request.headers and not credentials_allowed(url.scheme, url.host):
        raise InsecureCredentialError(
            f"refusing to send a credential to {request.url.scheme}://{request.url.host}: "
            "use https, or http only to a loopback address"
        )


class _DeferredTransport(httpx2.AsyncBaseTransport):
    """A transport built on its first request, in a worker thread.

    Building httpx2's transport imports httpcore2 and loads the CA bundle: 40-50 ms that the server
    would otherwise spend at start, before it can answer its client. In a thread, the first request
    (the catalog refresh, at start) waits for it while the event loop goes on with the handshake.
    """

    def __init__(self, build: Callable[[], httpx2.AsyncBaseTransport]) -> None:
        self._build = build
        self._built: httpx2.AsyncBaseTransport | None = None
        # Concurrent first requests must share one pool, not race to build two.
        self._building = anyio.Lock()

    async def _transport(self) -> httpx2.AsyncBaseTransport:
        if self._built is None:
            async with self._building:
                if self._built is None:
                    self._built = await anyio.to_thread.run_sync(self._build)
        return self._built

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        transport = await self._transport()
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._built is not None:
            await self._built.aclose()


def _on_asyncio_and_httptools(build: Callable[[], httpx2.AsyncBaseTransport]) -> httpx2.AsyncBaseTransport:
    """httpx2's direct transport, its connections made by `asyncio_network` instead of through anyio,
    speaking HTTP/1.1 through `httptools_http11` instead of h11.

    httpx2 takes no network backend, so the one of the pool it built is replaced before its first
    connection. A proxy's pool keeps httpcore2's own backend: proxies are rare here, and their
    tunnels are httpcore2's tested path.
    """
    import httpcore2

    from chutes_mcp.chutes.asyncio_network import AsyncioBackend
    from chutes_mcp.chutes.httptools_http11 import HttptoolsConnectionPool

    transport = build()
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore2.AsyncConnectionPool:
        pool._network_backend = AsyncioBackend()
        # The subclass only changes how the pool makes a connection; its state stays as httpx2 built it.
        pool.__class__ = HttptoolsConnectionPool
    return transport


class _PoolClient(httpx2.AsyncClient):
    """`httpx2.AsyncClient` with its default transports (direct, and any proxy's from the environment)
    deferred until first use. These hooks are private to httpx2, but they are where it builds them;
    passing our own `transport=` instead would switch off the environment's proxy settings."""

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _DeferredTransport(
            partial(_on_asyncio_and_httptools, partial(super()._init_transport, *args, **kwargs))
        )

    def _init_proxy_transport(self, *args: Any, **kwargs: Any) -> httpx2.AsyncBaseTransport:
        return _DeferredTransport(partial(super()._init_proxy_transport, *args, **kwargs))


def build_http_client(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The shared pool: keep-alive connections reused by every call.

    Redirects are never followed: Chutes does not redirect its API calls, and following one could carry
    the Authorization header to a host the user never configured.
    """
    headers = {"User-Agent": USER_AGENT, **settings.extra_headers}
    client_class = httpx2.AsyncClient if transport is not None else _PoolClient
    return client_class(
        headers=headers,
        follow_redirects=False,
        timeout=httpx2.Timeout(
            settings.timeout_s, connect=_CONNECT_TIMEOUT_S, write=_WRITE_TIMEOUT_S, pool=settings.timeout_s
        ),
        limits=httpx2.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=60.0),
        event_hooks={"request": [_guard_credentials]},
        transport=transport,
    )
