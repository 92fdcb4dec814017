"""Scripted faults: the `X-Sim-Fault` header and the `/_sim/scenario` queue.

A header such as `X-Sim-Fault: 429,429,ok` is a script: successive requests that carry the same
value (from the same credential and `X-Sim-Session`) get its entries in order, then normal service.
A client that retries with the same headers thus sees exactly the sequence a test wrote.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    OK = "ok"
    RATE_LIMITED = "429"
    RATE_LIMITED_HTML = "429-html"
    NO_INSTANCES = "503"
    QUOTA_EXCEEDED = "402"
    EXHAUSTED = "500"
    TEE_REQUIRED = "426"
    INVALID_TOKEN = "401"
    FORBIDDEN_SCOPE = "403"
    MIDSTREAM_ERROR = "midstream-error"
    DROP = "drop"
    SLOW_FIRST_BYTE = "slow-first-byte"
    SLOW_TOKENS = "slow-tokens"
    MALFORMED = "malformed"


_WITH_MS = {FaultKind.SLOW_FIRST_BYTE, FaultKind.SLOW_TOKENS}
ROUTES = ("chat", "embeddings", "models", "any")


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    ms: int = 0

    @property
    def label(self) -> str:
        return f"{self.kind.value}:{self.ms}" if self.kind in _WITH_MS else self.kind.value


class FaultSyntaxError(ValueError):
    pass


def parse_fault(token: str) -> Fault:
    name, _, arg = token.strip().partition(":")
    try:
        kind = FaultKind(name)
    except ValueError:
        known = ", ".join(k.value + (":MS" if k in _WITH_MS else "") for k in FaultKind)
        raise FaultSyntaxError(f"unknown fault {token.strip()!r}; known: {known}") from None
    if kind not in _WITH_MS:
        if arg:
            raise FaultSyntaxError(f"fault {name!r} takes no argument")
        return Fault(kind)
    if not arg.isdigit():
        raise FaultSyntaxError(f"fault {name!r} needs a delay in ms, e.g. {name}:500")
    return Fault(kind, int(arg))


def parse_script(text: str) -> list[Fault]:
    faults = [parse_fault(token) for token in text.split(",") if token.strip()]
    if not faults:
        raise FaultSyntaxError("empty fault script")
    return faults


@dataclass
class Scenario:
    faults: deque[Fault]
    route: str = "any"
    model: str | None = None
    # A caller handle as `/_sim/stats` shows it (`key:<12 hex>`), to fault one tenant only.
    caller: str | None = None

    def matches(self, route: str, model: str | None, caller: str) -> bool:
        return (
            self.route in ("any", route)
            and (self.model is None or self.model == model)
            and (self.caller is None or self.caller == caller)
        )


class FaultBook:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._scripts: dict[tuple[str, str, str], deque[Fault]] = {}
        self.scenarios: list[Scenario] = []

    def queue(self, scenario: Scenario) -> None:
        self.scenarios.append(scenario)

    def next_fault(
        self, *, route: str, model: str | None, header: str | None, caller: str, session: str
    ) -> Fault | None:
        """The fault for this request, if any. Raises FaultSyntaxError for a bad header."""
        if header:
            key = (caller, session, header)
            script = self._scripts.get(key)
            if script is None:
                script = self._scripts[key] = deque(parse_script(header))
            return script.popleft() if script else None
        for scenario in self.scenarios:
            if scenario.faults and scenario.matches(route, model, caller):
                fault = scenario.faults.popleft()
                if not scenario.faults:
                    self.scenarios.remove(scenario)
                return fault
        return None

    def pending(self) -> list[dict[str, object]]:
        return [
            {"route": s.route, "model": s.model, "caller": s.caller, "faults": [f.label for f in s.faults]}
            for s in self.scenarios
        ]
