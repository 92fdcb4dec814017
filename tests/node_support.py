"""The Node tools the tests drive (the MCP Inspector CLI, the TypeScript SDK clients), pinned in
package.json / package-lock.json and installed with `npm ci`.

Without them those tests skip, saying what is missing; CI sets CHUTES_MCP_REQUIRE_NODE_TOOLS=1, which
makes a missing or stale install a failure instead.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = os.environ.get("CHUTES_MCP_REQUIRE_NODE_TOOLS") == "1"


def pinned_version(package: str) -> str:
    """The version package.json pins, for a package or an `npm:` alias of one."""
    manifest = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    spec: str = manifest["devDependencies"][package]
    return spec.rsplit("@", 1)[-1] if spec.startswith("npm:") else spec


def installed_version(package: str) -> str | None:
    manifest = ROOT / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    version: str = json.loads(manifest.read_text(encoding="utf-8"))["version"]
    return version


def install_problem(*packages: str) -> str | None:
    """What is wrong with the install of `packages`, or None when each is there at its pinned version."""
    for package in packages:
        installed = installed_version(package)
        if installed is None:
            return f"{package} is not installed: run `npm ci` in {ROOT}"
        if installed != pinned_version(package):
            return f"{package} {installed} is installed but package.json pins {pinned_version(package)}: run `npm ci`"
    return None


def node() -> str | None:
    """The pinned Node 22 that `npm ci` brings on Linux x64, else the one on PATH."""
    pinned = ROOT / "node_modules" / ".bin" / "node"
    return str(pinned) if pinned.exists() else shutil.which("node")


def unavailable(problem: str) -> NoReturn:
    if REQUIRED:
        pytest.fail(f"CHUTES_MCP_REQUIRE_NODE_TOOLS=1, but {problem}")
    pytest.skip(problem)
