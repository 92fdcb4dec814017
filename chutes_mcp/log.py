"""Logging setup: structlog to stderr, once per process.

stdout belongs to the MCP protocol in stdio mode, so nothing here may ever write to it.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

LogFormat = Literal["console", "json"]


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time of each write.

    Binding the stream object once would keep writing to a stream that was swapped out and closed
    since (pytest's capture, an embedding program's redirect).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO", fmt: LogFormat = "console") -> None:
    """Route structlog and the standard `logging` module (uvicorn, mcp) to stderr in one format."""
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR")
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # httpx2 logs each request at INFO; below DEBUG that repeats what the access log's tool.call line
    # says, once more per upstream call. At DEBUG our own chutes.http line carries it with the invocation id.
    quiet = numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    for name in ("httpx2", "httpcore2"):
        logging.getLogger(name).setLevel(quiet)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
