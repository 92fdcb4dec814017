from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from chutes_mcp import log

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


@pytest.fixture
def console() -> Iterator[None]:
    log.configure("INFO", "console")
    yield
    log.configure("WARNING", "console")


def test_console_lines_keep_structlogs_layout(console: None, capsys: pytest.CaptureFixture[str]) -> None:
    access = log.get_logger("chutes_mcp.access")
    access.info("tool.call", tool="chat", note="two words", empty="", cost_usd=None, latency_ms=1.5)
    access.warning("bare")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        access.exception("tool.failed", tool="chat")
        logging.getLogger("mcp.server").exception("boom")
    access.debug("dropped", at="INFO")

    lines = capsys.readouterr().err.splitlines()
    expected = [
        rf"{STAMP} \[info     \] tool\.call {{22}}cost_usd=None empty= latency_ms=1\.5 note='two words' tool=chat",
        rf"{STAMP} \[warning  \] bare",
        rf"{STAMP} \[info     \] Started server process \[7\] {{5}}\[uvicorn\.error\]",
        rf"{STAMP} \[error    \] tool\.failed {{20}}tool=chat",
        r"Traceback \(most recent call last\):",
    ]
    for pattern, line in zip(expected, lines, strict=False):
        assert re.fullmatch(pattern, line), (pattern, line)
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert any(re.fullmatch(rf"{STAMP} \[error    \] boom {{27}}\[mcp\.server\]", line) for line in lines)
    assert sum(line.startswith("Traceback") for line in lines) == 2
    assert not any("dropped" in line for line in lines)
