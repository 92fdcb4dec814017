"""Running calls by key, so that a cancel arriving as an HTTP request of its own reaches the call.

Over stateless streamable HTTP a 2025-era client cancels with a separate POST of
`notifications/cancelled`, which any replica may receive; the call it names runs in another request.
The HTTP layer (`call_routing`) registers each running call under a key and cancels by key. One
process needs nothing more than `InProcessCalls`; several replicas behind a plain balancer need a
shared store behind the same two methods (a key naming the replica that runs the call, and a channel
to tell it), and the layer stays as it is.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager

# Who is calling, as far as an HTTP request shows it: its credentials (a server token, or a caller's
# own Chutes key) and the session id this server issued it.
CREDENTIAL_HEADERS = ("authorization", "x-chutes-api-key")


def call_key(headers: Mapping[str, str], session_id: str | None, request_id: object) -> str | None:
    """The key of a call: the caller (credentials and session id, as a digest) and its JSON-RPC id.

    None when the call cannot be told apart from another caller's, so it is never cancelled by key:
    without a session id or a credential, request ids (small integers, chosen by each client) would
    let one anonymous client cancel another's call.
    """
    if isinstance(request_id, bool) or not isinstance(request_id, int | str):
        return None
    credentials = [headers.get(name, "") for name in CREDENTIAL_HEADERS]
    if not session_id and not any(credentials):
        return None
    caller = hashlib.sha256("\0".join([*credentials, session_id or ""]).encode()).hexdigest()
    # An id sent as 7 and cancelled as "7" is the same call, as the SDK's own dispatcher has it.
    return f"{caller}:{request_id}"


class RunningCalls(ABC):
    """Where running calls are found by key."""

    @abstractmethod
    def running(self, key: str, cancel: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """Hold the call registered under `key` while the context is open; `cancel(key)` calls `cancel`."""

    @abstractmethod
    async def cancel(self, key: str) -> bool:
        """Cancel the call registered under `key`: False when there is none (it ended, or never ran)."""


class InProcessCalls(RunningCalls):
    """The calls of this process."""

    def __init__(self) -> None:
        self._calls: dict[str, Callable[[], None]] = {}

    @asynccontextmanager
    async def _running(self, key: str, cancel: Callable[[], None]) -> AsyncIterator[None]:
        # A client that reuses an id while its first call runs gets the newer call cancelled.
        self._calls[key] = cancel
        try:
            yield
        finally:
            if self._calls.get(key) is cancel:
                del self._calls[key]

    def running(self, key: str, cancel: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        return self._running(key, cancel)

    async def cancel(self, key: str) -> bool:
        cancel = self._calls.get(key)
        if cancel is None:
            return False
        cancel()
        return True
