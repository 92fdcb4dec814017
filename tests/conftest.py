from __future__ import annotations

from collections.abc import Iterator

import pytest
from sim_process import SimProcess, sim_process


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def sim_session() -> Iterator[SimProcess]:
    """One simulator process for the whole run, started the way users start it."""
    with sim_process() as process:
        yield process


@pytest.fixture
def sim(sim_session: SimProcess) -> SimProcess:
    """The shared simulator, reset to its start state so every test begins from the same place."""
    sim_session.reset()
    return sim_session
