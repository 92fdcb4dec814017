"""Run the README's quick start verbatim, as a new user would: a clean clone, the system's Python, a
fresh virtual environment, no environment but a minimal one.

    python scripts/check_quick_start.py

It clones this repository's HEAD into a temporary folder and runs there, in one bash session, the
quick start's first block (create and activate `.venv`, install, ask a model on the embedded
simulator) and then every line of the block after it (the other tools, the server), with stdin
closed and stdout piped, so each `call` prints its JSON. The test command, the quick start's last
block, is what `.ci/run` runs verbatim, so it is not repeated here. Installing needs the package
index (PyPI, or the pip configuration of the machine).

Exit 0 when every command succeeded and the calls printed their results; 1 otherwise, with the output.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# The system's own directories: no virtual environment, no pyenv shim, no user tool on the way. On
# Debian and Ubuntu that is the externally-managed Python on which a bare `pip install` fails.
FRESH_PATH = "/usr/local/bin:/usr/bin:/bin"
# Machine-level network and index settings a fresh shell would have as well.
PASSED_THROUGH = (
    "LANG",
    "SSL_CERT_FILE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
)
TIMEOUT_S = 900


def quick_start_blocks(readme: str) -> list[str]:
    start = readme.index("\n## Quick start\n")
    end = readme.index("\n## ", start + 1)
    return [body for lang, body in CODE_BLOCK.findall(readme[start:end]) if lang == "bash"]


def script(blocks: list[str]) -> str:
    install, follow_on = blocks[0], blocks[1]
    return "set -euo pipefail\n" + install + follow_on


def environment(home: Path) -> dict[str, str]:
    env = {"PATH": FRESH_PATH, "HOME": str(home)}
    env.update({name: os.environ[name] for name in PASSED_THROUGH if name in os.environ})
    env.update({name: value for name, value in os.environ.items() if name.startswith("PIP_")})
    return env


def json_documents(text: str) -> list[object]:
    """The JSON objects printed one after another (each `call` prints one, from the start of a line);
    pip's progress lines around them are skipped."""
    decoder, documents = json.JSONDecoder(), []
    position = 0 if text.startswith("{") else text.find("\n{")
    while position != -1:
        document, end = decoder.raw_decode(text, position + (text[position] == "\n"))
        documents.append(document)
        position = text.find("\n{", end)
    return documents


def main() -> int:
    blocks = quick_start_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    commands = script(blocks)
    calls = commands.count("chutes-mcp call ")
    with tempfile.TemporaryDirectory(prefix="quick-start-") as tmp:
        clone, home = Path(tmp) / "chutes-mcp", Path(tmp) / "home"
        home.mkdir()
        subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
        print(f"quick start in a clean clone ({clone}), PATH={FRESH_PATH}:\n{commands}", flush=True)
        started = time.monotonic()
        done = subprocess.run(
            ["bash", "-c", commands],
            cwd=clone,
            env=environment(home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        took = time.monotonic() - started
    problems = []
    if done.returncode != 0:
        problems.append(f"exit code {done.returncode}")
    try:
        results = json_documents(done.stdout)
    except json.JSONDecodeError as exc:
        results = []
        problems.append(f"stdout is not the calls' JSON results ({exc})")
    if len(results) != calls:
        problems.append(f"{len(results)} JSON results for {calls} calls")
    if results and not (isinstance(results[0], dict) and results[0].get("text")):
        problems.append("the first call (chat) printed no answer")
    if problems:
        sys.stdout.write(f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}\n")
        sys.stdout.write("quick start FAILED: " + "; ".join(problems) + "\n")
        return 1
    print(f"quick start ok: {calls} calls answered in {took:.0f} s (install included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
