"""`python -m benchmarks [--quick]`: run every section, print the table, write the JSON results."""

from __future__ import annotations

import argparse
import sys
import time

import anyio

from benchmarks import catalog, cold_start, connections, memory, overhead, relay, throughput
from benchmarks.report import Section, table, write_json
from benchmarks.rig import Plan, rig

SECTIONS = ("overhead", "relay", "throughput", "cold_start", "catalog", "memory", "connections")


async def _run(plan: Plan, only: frozenset[str]) -> list[Section]:
    sections: list[Section] = []
    async with rig() as running:
        for name, section in (("overhead", overhead), ("relay", relay), ("throughput", throughput)):
            if name in only:
                sections.append(await section.run(running, plan))
                _progress(sections[-1])
        if "connections" in only:
            sections.append(await connections.run(running, plan))
            _progress(sections[-1])
        if "cold_start" in only:
            sections.append(cold_start.run(running.env, plan.cold_starts))
            _progress(sections[-1])
        if "memory" in only:
            sections.append(await memory.run(running.env, plan.memory_calls))
            _progress(sections[-1])
    if "catalog" in only:
        sections.append(catalog.run(plan.catalog_budget_s))
        _progress(sections[-1])
    return sorted(sections, key=lambda section: section.name)


def _progress(section: Section) -> None:
    sys.stderr.write(f"done: {section.name}\n")
    sys.stderr.flush()


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
        "--quick", action="store_true", help="fewer repetitions: a sanity run in about a minute"
    )
    parser.add_argument(
        "--only",
        metavar="SECTION,...",
        type=_section_names,
        default=frozenset(SECTIONS),
        help=f"run only these sections ({', '.join(SECTIONS)}); the JSON then says which ran",
    )
    args = parser.parse_args()
    plan = Plan.make(args.quick)
    started = time.perf_counter()
    sections = anyio.run(_run, plan, args.only)
    elapsed = time.perf_counter() - started
    print(table(sections))
    partial = args.only != frozenset(SECTIONS)
    path = write_json(sections, quick=args.quick, partial=partial, elapsed_s=elapsed)
    print(f"\n{'quick run' if args.quick else 'full run'} in {elapsed:.0f} s; results in {path}")


if __name__ == "__main__":
    main()
