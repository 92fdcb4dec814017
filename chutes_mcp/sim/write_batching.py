"""One socket write per event-loop turn instead of one per piece of a response.

uvicorn's h11 protocol writes the status line and headers, every body message and the end of the body
with separate `transport.write` calls, and asyncio sends each at once: one system call apiece, which
on loopback also runs the peer's whole TCP receive path. Holding a turn's writes and sending them
together puts the same bytes on the wire, in the same order, for a fraction of that CPU. asyncio has
no such option (its transports only buffer what the socket refuses), hence this wrapper.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any


class BatchingTransport(asyncio.Transport):
    """Wraps a connection's transport; writes go out at the end of the current loop turn, or as soon
    as the writer calls `flush` (the simulator's protocol does at the end of each response).

    At most a high-water mark's worth is held: beyond it the wrapped transport gets the data at once,
    so its flow control (pausing the writer while the client does not read) works as before, and a
    stream whose client stops reading still waits where it waited.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._high_water = transport.get_write_buffer_limits()[1]
        self._held: list[bytes | bytearray | memoryview[Any]] = []
        self._held_bytes = 0
        self._turn_end: asyncio.Handle | None = None

    def write(self, data: bytes | bytearray | memoryview[Any]) -> None:
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if not size:
            return
        self._held.append(data)
        self._held_bytes += size
        if self._held_bytes >= self._high_water:
            self.flush()
        elif self._turn_end is None:
            self._turn_end = self._loop.call_soon(self._end_of_turn)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview[Any]]) -> None:
        for data in list_of_data:
            self.write(data)

    def _end_of_turn(self) -> None:
        self._turn_end = None
        self.flush()

    def flush(self) -> None:
        """Hand what is held to the socket now, for a writer that knows nothing more is coming."""
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            self._held_bytes = 0
            self._transport.write(data)

    def close(self) -> None:
        # Closing sends what is already written first, as asyncio's own close does.
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._held_bytes = 0
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)
        self._high_water = self._transport.get_write_buffer_limits()[1]
