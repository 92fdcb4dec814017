"""`chutes-mcp login` and `chutes-mcp logout`: Sign in with Chutes from a terminal."""

from __future__ import annotations

import argparse
import sys

import anyio

from chutes_mcp.chutes.auth.oauth import login, logout
from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.chutes.http.pool import build_http_client
from chutes_mcp.commands import EXIT_USAGE
from chutes_mcp.config import ConfigError, load_settings


async def _open_browser(url: str) -> bool:
    import webbrowser

    sys.stderr.write(f"Opening the Chutes sign-in page. If no browser appears, open:\n  {url}\n")
    return await anyio.to_thread.run_sync(webbrowser.open, url)


async def _ask_pasted_url(url: str) -> str:
    sys.stderr.write(f"Open this URL in a browser and sign in:\n  {url}\n")
    sys.stderr.write("Then paste the full URL the browser was sent to (http://127.0.0.1...):\n")
    line: str = await anyio.to_thread.run_sync(sys.stdin.readline)
    return line


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        sys.stderr.write(f"chutes-mcp {args.command}: {exc}\n")
        return EXIT_USAGE
    if args.command == "login" and settings.client_id is None:
        sys.stderr.write(
            "chutes-mcp login: CHUTES_CLIENT_ID is not set; expected the id (cid_…) of an OAuth app "
            "registered on chutes.ai. Or skip signing in: set CHUTES_API_KEY (cpk_…) instead.\n"
        )
        return EXIT_USAGE

    async def run() -> str:
        async with build_http_client(settings) as http:
            if args.command == "logout":
                was_signed_in = await logout(http, settings)
                return "Signed out." if was_signed_in else "Nobody was signed in."
            tokens = await login(
                http,
                settings,
                open_browser=_open_browser,
                ask_pasted_url=_ask_pasted_url,
                headless=args.no_browser,
            )
            return f"Signed in with Chutes (scopes: {tokens.scope}); tokens saved to {settings.token_path}"

    try:
        sys.stdout.write(anyio.run(run) + "\n")
    except ChutesError as exc:
        sys.stderr.write(f"chutes-mcp {args.command}: {exc}\n  {exc.hint}\n")
        return 1
    return 0
