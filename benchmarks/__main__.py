"""`python -m benchmarks [--quick] [--only SECTION,...]`: run the sections, print the Markdown table,
write the JSON results."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio

from benchmarks import cold_start, cpu, end_to_end, first_progress, memory, processes, ramp
from benchmarks.report import Section, table, write_json
from benchmarks.rig import rig

SECTIONS = ("end_to_end", "first_progress", "cpu", "cold_start", "memory", "ramp")


@dataclass(frozen=True)
class Plan:
    """How much of everything a run does."""

    end_to_end_rounds: int
    first_progress_rounds: int
    cpu_rounds: int
    cpu_block_calls: int
    cold_starts: int
    memory_warmup: int
    memory_calls: int


FULL = Plan(20, 100, 20, 150, 20, 1_000, memory.FULL_CALLS)
QUICK = Plan(3, 20, 6, 60, 5, 300, 1_500)


async def _run(plan: Plan, only: frozenset[str], quick: bool) -> list[Section]:
    sections: list[Section] = []

    def done(section: Section) -> None:
        sections.append(section)
        sys.stderr.write(f"done: {section.name}\n")
        sys.stderr.flush()

    with processes.simulator() as sim:
        if only & {"end_to_end", "cpu", "memory"}:
            async with rig(sim.url) as running:
                if "end_to_end" in only:
                    done(await end_to_end.run(running, sim.url, plan.end_to_end_rounds))
                if "cpu" in only:
                    done(await cpu.run(running, sim.url, plan.cpu_rounds, plan.cpu_block_calls))
                if "memory" in only:
                    done(await memory.run(running, sim.url, plan.memory_warmup, plan.memory_calls))
        if "first_progress" in only:
            done(await first_progress.run(sim.url, plan.first_progress_rounds))
        if "cold_start" in only:
            with tempfile.TemporaryDirectory(prefix="chutes-bench-") as cache_dir:
                done(cold_start.run(processes.server_env(sim.url, Path(cache_dir)), plan.cold_starts))
        if "ramp" in only:
            done(await ramp.run(sim, quick=quick))
    return sorted(sections, key=lambda section: section.name)


def _section_names(text: str) -> frozenset[str]:
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = names - set(SECTIONS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {sorted(unknown)}; choose from {', '.join(SECTIONS)}"
        )
    return names


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions: a sanity run in a minute or two"
    )
    parser.add_argument(
        "--only",
        metavar="SECTION,...",
        type=_section_names,
        default=frozenset(SECTIONS),
        help=f"run only these sections ({', '.join(SECTIONS)})",
    )
    args = parser.parse_args()
    load_at_start = tuple(round(value, 2) for value in os.getloadavg())
    started = time.monotonic()
    sections = anyio.run(_run, QUICK if args.quick else FULL, args.only, args.quick)
    elapsed = time.monotonic() - started
    print(table(sections))
    for section in sections:
        if section.name == ramp.SECTION:
            chart = ramp.draw(section.data["setups"], ramp.QUICK_CHART if args.quick else ramp.CHART)
            print(f"\n{ramp.level_table(section.data['setups'])}\n\nchart: {chart}")
    path = write_json(
        sections,
        quick=args.quick,
        partial=args.only != frozenset(SECTIONS),
        elapsed_s=elapsed,
        load_at_start=load_at_start,
    )
    print(f"\n{'quick' if args.quick else 'full'} run in {elapsed:.0f} s; results in {path}")


if __name__ == "__main__":
    main()
