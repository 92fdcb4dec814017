"""The fault soak (soak.py) in the suite: two tenants, 5,200 mixed calls over HTTP with every simulator
fault, cancels and timeouts among them; then nothing unanswered, no `internal_error`, fresh calls served
at once, descriptors and RSS back, no limiter holding a place, each tenant's peak rate within its limit.
About two minutes; `python tests/soak.py` runs it on its own and prints the figures."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_process import SimProcess
from soak import Plan, run, soak_server


@pytest.mark.anyio
async def test_after_a_fault_soak_the_server_is_as_it_was(sim: SimProcess, tmp_path: Path) -> None:
    with soak_server(sim, tmp_path) as server:
        report = await run(sim, server, Plan())
    print(report.figures())  # shown with -s, or -rP
    assert report.problems() == [], report.figures()
