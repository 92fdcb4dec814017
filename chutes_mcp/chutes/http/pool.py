"""The one HTTP connection pool of the process, and the rule for where credentials may go."""

from __future__ import annotations

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


def build_http_client(
    settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None
) -> httpx2.AsyncClient:
    """The shared pool: keep-alive connections reused by every call.

    Redirects are never followed: Chutes does not redirect its API calls, and following one could carry
    the Authorization header to a host the user never configured.
    """
    headers = {"User-Agent": USER_AGENT, **settings.extra_headers}
    # httpx2's own transports: with `transport=None` it reads HTTP(S)_PROXY, NO_PROXY and SSL_CERT_FILE
    # from the environment, as every other httpx2 client on the machine does.
    return httpx2.AsyncClient(
        headers=headers,
        follow_redirects=False,
        timeout=httpx2.Timeout(
            settings.timeout_s, connect=_CONNECT_TIMEOUT_S, write=_WRITE_TIMEOUT_S, pool=settings.timeout_s
        ),
        limits=httpx2.Limits(
            max_connections=settings.max_upstream_connections,
            max_keepalive_connections=settings.max_upstream_keepalive,
            keepalive_expiry=60.0,
        ),
        event_hooks={"request": [_guard_credentials]},
        transport=transport,
    )
