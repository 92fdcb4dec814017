"""`chutes-mcp doctor`: check a setup end to end and say what to fix.

Checks, in order: the configuration loads; a credential is configured and has the right form; each base
URL answers; the credential is accepted (by the account endpoint); where the model catalog comes from and
how old it is. Exit 1 when anything needs fixing.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from chutes_mcp.commands import Subcommands, add_config_option
from chutes_mcp.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    import httpx2

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
        description="Check a chutes-mcp setup and print a report; exit 1 when something needs fixing.",
    )
    add_config_option(doctor)


def _credential(settings: Settings) -> Check:
    from chutes_mcp.chutes.auth.credentials import API_KEY_RE

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
    if settings.token_path.exists():
        return Check("credential", True, f"signed in with Chutes (tokens in {settings.token_path})")
    return Check("credential", False, "no Chutes credential", "set CHUTES_API_KEY, or run `chutes-mcp login`")


async def _reachable(http: httpx2.AsyncClient, name: str, url: str) -> Check:
    import httpx2

    from chutes_mcp.chutes.errors import NetworkError

    # Any HTTP answer proves the host is there; which status depends on the path, so it is not judged.
    try:
        response = await http.get(url)
    except httpx2.TimeoutException as exc:
        return Check(
            name,
            False,
            f"{url} did not answer in time: {type(exc).__name__}",
            "check the URL and the network",
        )
    except httpx2.HTTPError as exc:
        error = NetworkError.from_transport(exc, f"fetching {url}")
        return Check(name, False, error.message, error.hint)
    return Check(name, True, f"{url} answered (HTTP {response.status_code})")


async def _service_checks(settings: Settings) -> list[Check]:
    import httpx2

    from chutes_mcp.chutes.catalog.service import ModelCatalog
    from chutes_mcp.chutes.client import ChutesClient
    from chutes_mcp.chutes.errors import ChutesError

    checks: list[Check] = []
    async with httpx2.AsyncClient(timeout=_PROBE_TIMEOUT_S, follow_redirects=False) as probe:
        checks.append(await _reachable(probe, "llm host", f"{settings.api_base}/models"))
        checks.append(await _reachable(probe, "embed host", settings.embed_base))
        checks.append(
            await _reachable(
                probe, "api host", f"{settings.management_base}/.well-known/openid-configuration"
            )
        )
    async with ChutesClient(settings.model_copy(update={"max_retries": 0})) as client:
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


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        sys.stdout.write(_report([Check("configuration", False, str(exc), "fix the setting named above")]))
        return 1
    checks = [Check("configuration", True, "loaded"), _credential(settings)]
    import anyio

    checks += anyio.run(_service_checks, settings)
    sys.stdout.write(_report(checks))
    return 0 if all(check.ok for check in checks) else 1
