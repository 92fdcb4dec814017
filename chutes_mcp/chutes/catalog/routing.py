"""Chutes routing strings: `a,b,c` is an ordered failover list, `:latency` / `:throughput` pick by speed,
and `:THINKING` turns reasoning on (reference §3.1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chutes_mcp.chutes.errors import BadRequestError

RoutingSelector = Literal["latency", "throughput"]

_THINKING = ":thinking"
_SELECTORS: tuple[RoutingSelector, ...] = ("latency", "throughput")


@dataclass(frozen=True)
class RoutingString:
    members: tuple[str, ...]
    selector: RoutingSelector | None
    thinking: bool


def parse_routing_string(text: str) -> RoutingString:
    """Split `a,b:latency:THINKING` into members and switches; raises BadRequestError on empty parts."""
    rest = text.strip()
    selector: RoutingSelector | None = None
    thinking = False
    for _ in range(2):  # the two suffixes, in either order
        lowered = rest.lower()
        if not thinking and lowered.endswith(_THINKING):
            rest, thinking = rest[: -len(_THINKING)], True
            continue
        for candidate in _SELECTORS:
            if selector is None and lowered.endswith(f":{candidate}"):
                rest, selector = rest[: -len(candidate) - 1], candidate
                break
    members = tuple(member.strip() for member in rest.split(","))
    if not all(members):
        raise BadRequestError(
            f"model {text!r} has an empty name in it",
            hint="Give a model id or alias, or a comma list of them like `a,b,c` (optionally `:latency`).",
        )
    return RoutingString(members, selector, thinking)


def format_routing_string(model_ids: list[str], selector: RoutingSelector | None, thinking: bool) -> str:
    """The `model` value Chutes understands: `a,b[:latency|:throughput][:THINKING]`."""
    text = ",".join(model_ids)
    if selector is not None:
        text += f":{selector}"
    return text + ":THINKING" if thinking else text
