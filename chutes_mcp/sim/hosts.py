"""One port, every Chutes host: pick the host a request is for, then hand it to that host's routes.

How a request finds its host, first match wins:
1. a path prefix: `/llm/...`, `/embed/...`, `/api/...`, `/chute/<slug>/...` (the prefix is stripped);
2. the first DNS label of `Host`: `llm.*`, `embed.*`, `api.*`, or a known chute slug;
3. otherwise the llm host. As on the real service, the llm host keeps only `GET /v1/models` and POSTs,
   and the embed host only POSTs; every other request (e.g. `GET /users/me`) falls through to the api
   host's REST routes.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

_PREFIXED = ("llm", "embed", "api")


class HostDispatcher:
    def __init__(
        self,
        *,
        llm: ASGIApp,
        embed: ASGIApp,
        api: ASGIApp,
        chute: ASGIApp,
        is_known_slug: Callable[[str], bool],
    ) -> None:
        self._hosts: dict[str, ASGIApp] = {"llm": llm, "embed": embed, "api": api, "chute": chute}
        self._is_known_slug = is_known_slug

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        host, prefix, slug = self._route(scope)
        if scope["method"] != "POST" and (
            host == "embed" or (host == "llm" and _rest(scope, prefix) != "/v1/models")
        ):
            host = "api"
        scope = {**scope, "root_path": scope.get("root_path", "") + prefix, "chutes_host": host}
        if slug is not None:
            scope["chute_slug"] = slug
        await self._hosts[host](scope, receive, send)

    def _route(self, scope: Scope) -> tuple[str, str, str | None]:
        path: str = scope["path"]
        first, _, rest = path.lstrip("/").partition("/")
        if first in _PREFIXED:
            return first, "/" + first, None
        if first == "chute" and rest:
            slug = rest.partition("/")[0]
            return "chute", f"/chute/{slug}", slug
        label = _host_header(scope).partition(".")[0].lower()
        if label in _PREFIXED:
            return label, "", None
        if label and self._is_known_slug(label):
            return "chute", "", label
        return "llm", "", None


def _host_header(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1"))
    return ""


def _rest(scope: Scope, prefix: str) -> str:
    path: str = scope["path"]
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path
