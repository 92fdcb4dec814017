"""Logging setup: structlog to stderr, once per process.

stdout belongs to the MCP protocol in stdio mode, so nothing here may ever write to it.

structlog is imported when something first logs, not at start: at the default level (WARNING) a
stdio server may never log at all.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
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


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The standard `logging` records (uvicorn, mcp, httpx2) in structlog's format, set up on the first."""

    def emit(self, record: logging.LogRecord) -> None:
        _set_up()
        super().emit(record)


_muted: ContextVar[bool] = ContextVar("chutes_mcp_log_muted", default=False)


class _MutedFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not _muted.get()


@contextmanager
def below_warning_muted() -> Iterator[None]:
    """Drop the standard `logging` records below WARNING from the block and from the tasks started in it.

    For a helper embedded in a command (the simulator behind `--sim`), whose uvicorn logs on the same
    loggers as the command's own server would: its start and stop lines would read as the server's,
    twice. Tasks copy the context when they start, so they stay muted after the block.
    """
    token = _muted.set(True)
    try:
        yield
    finally:
        _muted.reset(token)


_handler = _StderrHandler(_CurrentStderr())
_handler.addFilter(_MutedFilter())
_wanted: tuple[int, LogFormat] = (logging.WARNING, "console")
_ready = False
_configurations = 0  # how many times `configure` was called


def configure(level: str = "INFO", fmt: LogFormat = "console") -> None:
    """Route structlog and the standard `logging` module (uvicorn, mcp) to stderr in one format."""
    global _wanted, _ready, _configurations
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}; use DEBUG, INFO, WARNING or ERROR")
    _wanted, _ready = (numeric, fmt), False
    _configurations += 1
    root = logging.getLogger()
    root.handlers[:] = [_handler]
    root.setLevel(numeric)
    # httpx2 logs each request at INFO; below DEBUG that repeats what the access log's line for the tool
    # call says, once more per upstream call. At DEBUG our own chutes.http line carries it with the invocation id.
    quiet = numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
    for name in ("httpx2", "httpcore2"):
        logging.getLogger(name).setLevel(quiet)
    # The SDK says "Terminating session: None" at INFO after every stateless HTTP request: noise next to
    # the access log's line for the same request.
    logging.getLogger("mcp.server.streamable_http").setLevel(quiet)


def _set_up() -> None:
    """Configure structlog as `configure` last asked, once."""
    global _ready
    if _ready:
        return
    import structlog

    numeric, fmt = _wanted
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else _console_line
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
    _handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    _ready = True


_QUOTED = frozenset(" \t=\r\n\"'")


def _console_value(value: Any) -> str:
    if isinstance(value, str) and not _QUOTED.intersection(value):
        return value
    return repr(value)


def _console_line(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> str:
    """`time [level] event key=value ...`: the layout of structlog's `ConsoleRenderer` without colours.

    Hand-written because that renderer's column formatters take ~20 µs a line, and every tool call logs
    a line; this takes a quarter of that for the same text.
    """
    parts = [str(event.pop("timestamp"))] if "timestamp" in event else []
    if "level" in event:
        parts.append(f"[{event.pop('level'):<9}]")
    message = str(event.pop("event", ""))
    logger = event.pop("logger", None)
    logger = event.pop("logger_name", None) or logger
    stack, exception = event.pop("stack", None), event.pop("exception", None)
    parts.append(message.ljust(30))  # the padding of a line that ends here is stripped below
    if logger:
        parts.append(f"[{logger}]")
    parts += [f"{key}={_console_value(event[key])}" for key in sorted(event)]
    line = " ".join(parts).rstrip(" ")
    for text in (stack, exception):
        if text:
            line += f"\n{text}"
    return line


class _Logger:
    """The structlog logger `name`, made on first use and remade after each `configure`.

    structlog caches a logger with the configuration of its first use; a `configure` since then (the
    level the settings ask for, once they are loaded) would not reach it.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None
        self._made_for = -1

    def __getattr__(self, attribute: str) -> Any:
        if self._made_for != _configurations:
            _set_up()
            import structlog

            self._logger = structlog.get_logger(self._name)
            self._made_for = _configurations
        return getattr(self._logger, attribute)


def enabled(level: int) -> bool:
    """Whether lines at `level` are kept: lets a hot path skip computing what a dropped line would say."""
    return _wanted[0] <= level


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return cast("structlog.stdlib.BoundLogger", _Logger(name))
