"""Regenerate the bundled model catalog snapshot from a `GET /v1/models` capture.

The snapshot is what chutes-mcp answers with (source `bundled`) when it has neither network nor a
cached copy, so refresh it when the Chutes catalog has moved on:

    curl -s https://llm.chutes.ai/v1/models > models_$(date -u +%F).json
    PYTHONPATH=. .venv/bin/python scripts/make_snapshot.py models_$(date -u +%F).json

(run from the repository root; `PYTHONPATH=.` is not needed once chutes-mcp is installed with `pip install -e .`).

It writes `chutes_mcp/chutes/data/models_snapshot.json`: the capture's entries in served order, minus the
vLLM `permission` blocks (noise for us), under an envelope that dates it (`captured_at`, taken from the
newest `created` unless `--captured-at` says otherwise) and names its origin. Every entry must normalize,
and the TEE count is printed so a reviewer can compare it with the capture.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chutes_mcp.chutes.catalog.models import models_from_raw

SNAPSHOT = Path(__file__).resolve().parents[1] / "chutes_mcp" / "chutes" / "data" / "models_snapshot.json"


def _entries(capture: Any) -> list[dict[str, Any]]:
    data = capture.get("data") if isinstance(capture, dict) else capture
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise SystemExit("expected a /v1/models response: {'object': 'list', 'data': [...]} or a bare list")
    return [{key: value for key, value in entry.items() if key != "permission"} for entry in data]


def _captured_at(entries: list[dict[str, Any]], override: str | None) -> str:
    if override:
        return datetime.fromisoformat(override).astimezone(UTC).isoformat()
    created = [entry["created"] for entry in entries if isinstance(entry.get("created"), int)]
    if not created:
        raise SystemExit("no `created` times in the capture; pass --captured-at")
    return datetime.fromtimestamp(max(created), UTC).isoformat()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("capture", type=Path, help="a saved GET /v1/models response")
    parser.add_argument("--captured-at", help="ISO date-time of the capture (default: newest `created`)")
    parser.add_argument("--out", type=Path, default=SNAPSHOT, help=f"where to write (default {SNAPSHOT})")
    args = parser.parse_args(argv)

    entries = _entries(json.loads(args.capture.read_text(encoding="utf-8")))
    models = models_from_raw(entries)
    if len(models) != len(entries):
        raise SystemExit(f"{len(entries) - len(models)} entries do not normalize; fix the capture first")
    captured_at = _captured_at(entries, args.captured_at)
    header = {
        "captured_at": captured_at,
        "origin": f"GET https://llm.chutes.ai/v1/models, saved as {args.capture.name}",
        "object": "list",
    }
    # One entry per line keeps a regenerated snapshot reviewable as a diff.
    lines = ",\n".join(json.dumps(entry, ensure_ascii=False) for entry in entries)
    head = json.dumps(header, ensure_ascii=False)[:-1]
    args.out.write_text(f'{head}, "data": [\n{lines}\n]}}\n', encoding="utf-8")
    tee = sum(1 for model in models if model.tee)
    sys.stderr.write(f"wrote {args.out}: {len(models)} models, {tee} TEE, captured {captured_at}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
