"""What a section returns, the Markdown table of a run, and its JSON file."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.measure import Summary

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    metric: str
    measured: str
    target: str = ""
    met: bool | None = None


@dataclass
class Section:
    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def row(self, metric: str, measured: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(metric, measured, target, met))


def ms(value: float) -> str:
    return f"{value:.2f} ms" if abs(value) < 100 else f"{value:.0f} ms"


def p50_p95(summary: Summary) -> str:
    return f"{ms(summary.p50)} / {ms(summary.p95)}"


def table(sections: list[Section]) -> str:
    """One Markdown table, a row per measurement, ready for the README's Performance section."""
    headers = ("metric", "measured", "target", "met?")
    cells = [
        (row.metric, row.measured, row.target, "" if row.met is None else ("yes" if row.met else "**no**"))
        for section in sections
        for row in section.rows
    ]
    widths = [max(len(header), *(len(cell[i]) for cell in cells)) for i, header in enumerate(headers)]

    def line(values: tuple[str, ...]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells)])


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "mcp": version("mcp"),
        "httpx2": version("httpx2"),
        "chutes_mcp": version("chutes-mcp"),
        "mcp_server_time": version("mcp-server-time"),
    }


def write_json(
    sections: list[Section], *, quick: bool, partial: bool, elapsed_s: float, load_at_start: tuple[float, ...]
) -> Path:
    """`results/<UTC time>.json`; quick and partial runs carry a suffix that git ignores. The load
    averages say how much other work shared the machine."""
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
        "load_average_1_5_15": {"at_start": load_at_start, "at_end": [round(v, 2) for v in os.getloadavg()]},
        "sections": {s.name: {"rows": [asdict(r) for r in s.rows], "data": s.data} for s in sections},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
