"""What a section returns, the printed table, and the JSON file of a run."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    section: str
    metric: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class Section:
    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def row(self, metric: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(self.name, metric, value, target, met))


def ms(value: float) -> str:
    return f"{value:.2f} ms" if abs(value) < 100 else f"{value:.0f} ms"


def p50_p95(summary: Any) -> str:
    return f"{summary.p50:.2f} / {summary.p95:.2f} ms"


def table(sections: list[Section]) -> str:
    rows = [row for section in sections for row in section.rows]
    headers = ("section", "metric", "value", "target", "met")
    cells = [
        (r.section, r.metric, r.value, r.target, "" if r.met is None else ("yes" if r.met else "NO"))
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)) + " |" for cell in cells
    ]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if "model name" in line
            ),
            "",
        )
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "mcp": version("mcp"),
        "httpx2": version("httpx2"),
        "chutes_mcp": version("chutes-mcp"),
    }


def write_json(sections: list[Section], *, quick: bool, partial: bool, elapsed_s: float) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC)
    suffix = ("-quick" if quick else "") + ("-partial" if partial else "")
    path = RESULTS / f"{stamp:%Y%m%dT%H%M%SZ}{suffix}.json"
    document = {
        "date": stamp.isoformat(timespec="seconds"),
        "quick": quick,
        "partial": partial,
        "elapsed_s": round(elapsed_s, 1),
        "machine": machine(),
        "sections": {s.name: {"data": s.data, "rows": [r.__dict__ for r in s.rows]} for s in sections},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
