"""`chutes-mcp login` and `chutes-mcp logout`: Sign in with Chutes from a terminal."""

from __future__ import annotations

import argparse
import sys

import anyio

from chutes_mcp.chutes.errors import ChutesError
from chutes_mcp.chutes.http import build_http_client
from chutes_mcp.chutes.oauth import login, logout
from chutes_mcp.config import ConfigError, load_settings


async def _open_browser(url: str) -> bool:
    import webbrowser

    print(f"Opening the Chutes sign-in page. If no browser appears, open:\n  {url}", file=sys.stderr)
    return await anyio.to_thread.run_sync(webbrowser.open, url)


async def _ask_pasted_url(url: str) -> str:
    print(f"Open this URL in a browser and sign in:\n  {url}", file=sys.stderr)
    print("Then paste the full URL the browser was sent to (http://127.0.0.1...):", file=sys.stderr)
    line: str = await anyio.to_thread.run_sync(sys.stdin.readline)
    return line


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"chutes-mcp: {exc}", file=sys.stderr)
        return 2

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
        print(anyio.run(run))
    except ChutesError as exc:
        print(f"chutes-mcp {args.command}: {exc}\n  {exc.hint}", file=sys.stderr)
        return 1
    return 0
