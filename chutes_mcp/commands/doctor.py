"""`chutes-mcp doctor`: check a setup end to end and say what to fix.

Checks, in order: the configuration loads; a credential is configured and has the right form; each
Chutes host answers as the tools need it to; the credential is accepted (by the account endpoint);
where the model catalog comes from and how old it is. Every request goes through the tools' own client
(its proxy, CA, headers and credential), so what passes here works for the tools. Exit 2 when the
configuration does not load, 1 when anything else needs fixing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chutes_mcp.commands import EXIT_USAGE, Subcommands
from chutes_mcp.commands.context import add_chutes_options, chutes_settings
from chutes_mcp.config import ConfigError, Settings

if TYPE_CHECKING:
    import httpx2

    from chutes_mcp.chutes.client import ChutesClient

_PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def add_parser(sub: Subcommands) -> None:
    doctor = sub.add_parser(
        "doctor",
        help="check the configuration, the credential, the Chutes hosts and the catalog",
        description="Check a chutes-mcp setup and print a report; exit 1 when something needs fixing, 2 "
        "when the configuration does not load.",
    )
    add_chutes_options(doctor)


def _credential(settings: Settings) -> Check:
    from chutes_mcp.chutes.auth.credentials import API_KEY_RE
    from chutes_mcp.chutes.auth.oauth import TokenFileError, TokenStore

    if settings.api_key is not None:
        if API_KEY_RE.match(settings.api_key.get_secret_value()):
            return Check("credential", True, "CHUTES_API_KEY is set and has the form of a Chutes key")
        return Check(
            "credential",
            False,
            "CHUTES_API_KEY does not look like a Chutes key (cpk_<32 hex>.<32 hex>.<32 alphanumerics>)",
            "copy the whole key from chutes.ai -> API keys",
        )
    if settings.oauth_token is not None:
        return Check("credential", True, "CHUTES_OAUTH_TOKEN is set")
    try:
        tokens = TokenStore(settings.token_path).load()
    except TokenFileError as exc:
        return Check("credential", False, exc.message, exc.hint)
    if tokens is not None:
        return Check("credential", True, f"signed in with Chutes (tokens in {settings.token_path})")
    return Check("credential", False, "no Chutes credential", "set CHUTES_API_KEY, or run `chutes-mcp login`")


async def _exchange(
    client: ChutesClient, name: str, request: httpx2.Request
) -> tuple[httpx2.Response | None, Check | None]:
    """One request through the tools' HTTP client; the failure as a check when there is no answer."""
    import httpx2

    from chutes_mcp.chutes.errors import NetworkError

    try:
        response = await client.http.send(request)
    except httpx2.TimeoutException as exc:
        return None, Check(
            name,
            False,
            f"{request.url} did not answer in time: {type(exc).__name__}",
            "check the URL and the network",
        )
    except httpx2.TransportError as exc:
        error = NetworkError.from_transport(exc, f"calling {request.url}", url=request.url)
        return None, Check(name, False, error.message, error.hint)
    return response, None


def _refusal(name: str, response: httpx2.Response, fix: str) -> Check:
    from chutes_mcp.chutes.http.error_bodies import error_from_response

    error = error_from_response(response.status_code, response.content, response.headers)
    return Check(
        name,
        False,
        f"{response.request.url} answered HTTP {response.status_code}: {error.message}",
        f"{fix}; {error.hint}" if error.hint else fix,
    )


async def _llm_host(client: ChutesClient) -> Check:
    """What `list_models` and the catalog do: `GET /v1/models`."""
    from chutes_mcp.chutes.errors import ChutesError

    url = f"{client.settings.api_base}/models"
    try:
        models = await client.list_models_raw()
    except ChutesError as exc:
        return Check("llm host", False, f"{url}: {exc.message}", f"check CHUTES_API_BASE; {exc.hint}")
    return Check("llm host", True, f"{url} listed {len(models)} models")


async def _embed_host(client: ChutesClient) -> Check:
    """The embed host serves POST only. An empty input asks it everything `embed` needs (the route,
    the credential, the model) and is refused by the engine with a 400 before anything is billed."""
    settings = client.settings
    model = settings.default_embedding_model
    if client.credentials.kind == "none":
        return Check("embed host", False, "not checked: it needs a credential", "see the credential check")
    headers: dict[str, str] = {}
    token = await client.credentials.bearer()
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"model": model, "input": []}
    request = client.http.build_request(
        "POST", f"{settings.embed_base}/embeddings", json=body, headers=headers
    )
    response, failure = await _exchange(client, "embed host", request)
    if response is None:
        assert failure is not None
        return failure
    if response.status_code in (200, 400):
        return Check(
            "embed host", True, f"{request.url} knows {model} (HTTP {response.status_code} to an empty input)"
        )
    return _refusal("embed host", response, "check CHUTES_EMBED_BASE and CHUTES_DEFAULT_EMBEDDING_MODEL")


async def _api_host(client: ChutesClient) -> Check:
    """The sign-in discovery document, the api host's one public route."""
    url = f"{client.settings.management_base}/.well-known/openid-configuration"
    response, failure = await _exchange(client, "api host", client.http.build_request("GET", url))
    if response is None:
        assert failure is not None
        return failure
    if response.status_code == 200:
        return Check("api host", True, f"{url} answered (HTTP 200)")
    return _refusal("api host", response, "check CHUTES_MANAGEMENT_BASE")


async def _service_checks(settings: Settings) -> list[Check]:
    from chutes_mcp.chutes.catalog.service import ModelCatalog
    from chutes_mcp.chutes.client import ChutesClient
    from chutes_mcp.chutes.errors import ChutesError

    checks: list[Check] = []
    probe_settings = settings.model_copy(update={"max_retries": 0, "timeout_s": _PROBE_TIMEOUT_S})
    async with ChutesClient(probe_settings) as client:
        checks.append(await _llm_host(client))
        try:
            checks.append(await _embed_host(client))
        except ChutesError as exc:  # the credential could not be had (an OAuth refresh failed)
            checks.append(Check("embed host", False, str(exc), exc.hint))
        checks.append(await _api_host(client))
        if client.credentials.kind != "none":
            try:
                me = await client.me()
                checks.append(Check("credential accepted", True, f"signed in as {me.get('username', '?')}"))
            except ChutesError as exc:
                checks.append(Check("credential accepted", False, str(exc), exc.hint))
        catalog = ModelCatalog(client.list_models_raw, ttl_s=0, cache_dir=settings.catalog_cache_path)
        async with catalog:
            view = await catalog.get(max_wait_s=_PROBE_TIMEOUT_S)
    age = datetime.now(UTC) - view.fetched_at
    detail = f"{len(view.models)} models from {view.source}, fetched {view.fetched_at:%Y-%m-%d %H:%M} UTC ({age.days} days ago)"
    if view.source == "live":
        checks.append(Check("model catalog", True, detail))
    else:
        checks.append(
            Check(
                "model catalog",
                False,
                detail + f"; live fetch failed: {view.last_error}",
                "check the llm host",
            )
        )
    return checks


def _report(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{'ok ' if check.ok else 'FIX'} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"    -> {check.fix}")
    problems = sum(not check.ok for check in checks)
    lines.append("all good" if not problems else f"{problems} problem(s) to fix")
    return "\n".join(lines) + "\n"


async def _checks(args: argparse.Namespace) -> list[Check]:
    async with chutes_settings(args) as settings:
        tokens = settings.token_path
        files = Check(
            "files",
            True,
            f"sign-in tokens {tokens}{'' if tokens.exists() else ' (none yet)'}; "
            f"catalog cache {settings.catalog_cache_path}",
        )
        return [
            Check("configuration", True, "loaded"),
            files,
            _credential(settings),
            *await _service_checks(settings),
        ]


def run(args: argparse.Namespace) -> int:
    import anyio

    try:
        checks = anyio.run(_checks, args)
    except ConfigError as exc:
        sys.stdout.write(_report([Check("configuration", False, str(exc), "fix the setting named above")]))
        return EXIT_USAGE
    sys.stdout.write(_report(checks))
    return 0 if all(check.ok for check in checks) else 1
