"""The reasoning controls each model family reads, and what a call's `thinking` and `reasoning_effort`
become for one model.

Chutes hands `chat_template_kwargs` to the model's chat template, and templates differ in the switch they
read: Qwen and Gemma read `enable_thinking`; Kimi, GLM and DeepSeek read `thinking` (peers.md, the
reasoning row; chutes-api.md §3.1 step 8). Some take an effort level (gpt-oss: the engine reads the
top-level `reasoning_effort`; Kimi-K3: low/high/max, read by its template), and some reason whatever they
are sent: DeepSeek-R1 with its distills and merges, the "Thinking" releases, gpt-oss. The family comes from
the model id; whether a model reasons at all comes from the catalog's `reasoning` feature.

A model of no known family gets both switches. chutes-api mirrors either key to the other when only one is
sent, so on the current API both are what it forwards anyway; sending both keeps the switch working should
a version skip that step, and a template ignores the key it does not read. Sending neither would drop the
caller's explicit ask without a word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, get_args

from chutes_mcp.chutes.errors import BadRequestError

ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "max"]
ThinkingEffort = Literal["low", "medium", "high", "max"]
EFFORTS_ON: frozenset[str] = frozenset(get_args(ThinkingEffort))
"""Effort levels that mean "think"; `none` and `minimal` mean "do not"."""
Switch = Literal["enable_thinking", "thinking"]


@dataclass(frozen=True, slots=True, eq=False)
class Family:
    """One row of the table; rows are compared by identity."""

    name: str
    pattern: str
    """Searched for in the model id, ignoring case."""
    switches: tuple[Switch, ...]
    """The `chat_template_kwargs` keys its template reads to turn thinking on or off; none: no switch."""
    efforts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """The level sent for each of EFFORTS_ON (its nearest); empty: it takes no effort level."""
    effort_in_template: bool = False
    """The effort goes in `chat_template_kwargs.reasoning_effort`, which its template reads (and chutes-api
    mirrors to `effective_reasoning_effort`), rather than in the top-level field the engine checks."""
    always_reasons: bool = False


# The engines' own vocabulary (vLLM and SGLang accept low/medium/high at the top level).
_OPENAI_EFFORTS: Mapping[str, str] = MappingProxyType(
    {"low": "low", "medium": "medium", "high": "high", "max": "high"}
)
# Kimi-K3 has low, high and max, max by default (PrimeIntellect-ai/prime-agent#683); medium rounds up.
_KIMI_K3_EFFORTS: Mapping[str, str] = MappingProxyType(
    {"low": "low", "medium": "high", "high": "high", "max": "max"}
)

FAMILIES: tuple[Family, ...] = (
    # First match wins: the always-reasoning releases before the families whose names they carry.
    Family("deepseek-r1", r"(?:^|[/-])R1(?:T2?)?(?:[-_.]|$)", (), always_reasons=True),
    Family("thinking-only", r"thinking|thinker", (), always_reasons=True),
    Family("gpt-oss", r"gpt-oss", (), _OPENAI_EFFORTS, always_reasons=True),
    Family("kimi-k3", r"kimi-k3", ("thinking",), _KIMI_K3_EFFORTS, effort_in_template=True),
    Family("kimi", r"kimi", ("thinking",)),
    Family("glm", r"glm", ("thinking",)),
    Family("deepseek", r"deepseek", ("thinking",)),
    Family("qwen", r"qwen", ("enable_thinking",)),
    Family("gemma", r"gemma", ("enable_thinking",)),
)
UNKNOWN = Family("unknown", "", ("enable_thinking", "thinking"), _OPENAI_EFFORTS)
_PATTERNS = tuple((re.compile(family.pattern, re.IGNORECASE), family) for family in FAMILIES)


@functools.lru_cache(maxsize=256)
def family_of(model: str) -> Family:
    """The family of a model id; for a routing string (`a,b:latency`), the one its members share, if any."""
    found = {_family_of_id(member.split(":", 1)[0].strip()) for member in model.split(",")}
    return found.pop() if len(found) == 1 else UNKNOWN


def _family_of_id(model_id: str) -> Family:
    for pattern, family in _PATTERNS:
        if pattern.search(model_id):
            return family
    return UNKNOWN


def wanted_thinking(thinking: bool | None, reasoning_effort: str | None) -> bool | None:
    """Whether the caller asks for thinking: None leaves the model's own default in place."""
    if reasoning_effort is not None and reasoning_effort not in get_args(ReasoningEffort):
        raise BadRequestError(
            f"reasoning_effort {reasoning_effort!r} is not one of none, minimal, low, medium, high, max",
            hint="Use reasoning_effort low|medium|high|max to think, none|minimal not to.",
        )
    from_effort = None if reasoning_effort is None else reasoning_effort in EFFORTS_ON
    if thinking is not None and from_effort is not None and thinking != from_effort:
        raise BadRequestError(
            f"thinking={thinking} contradicts reasoning_effort={reasoning_effort!r}",
            hint="Give only one of thinking and reasoning_effort, or make them agree.",
        )
    return thinking if thinking is not None else from_effort


def can_think_less(model: str) -> bool:
    """Whether asking for no thinking changes anything: false for a model that always reasons and has no
    lower effort to ask for."""
    family = family_of(model)
    return not family.always_reasons or bool(family.efforts)


@dataclass(frozen=True, slots=True)
class ReasoningControls:
    template_kwargs: dict[str, Any]
    """Merged into `chat_template_kwargs`."""
    fields: dict[str, Any]
    """Top-level body fields."""
    notes: tuple[str, ...] = ()
    """What the caller asked for that this model cannot do, for the call's result."""


def reasoning_controls(
    model: str, thinking: bool | None, reasoning_effort: str | None, *, reasons: bool | None = None
) -> ReasoningControls:
    """The controls to send `model` for this ask, and the notes on what it will not do.

    `reasons` is the catalog's word: whether the model lists the `reasoning` feature, None when unknown.
    Raises BadRequestError for an unknown effort level or a contradiction.
    """
    want = wanted_thinking(thinking, reasoning_effort)
    if want is None:
        return ReasoningControls({}, {})
    family = family_of(model)
    asked = (
        f"reasoning_effort={reasoning_effort}" if thinking is None else f"thinking={str(thinking).lower()}"
    )
    if family.always_reasons:
        return _always_reasoning(model, family, want, reasoning_effort, asked)
    if reasons is False:
        # A switch its template does not read would only hide that nothing happened.
        notes = (f"{model} does not reason (the catalog lists no `reasoning` for it): {asked} has no effect",)
        return ReasoningControls({}, {}, notes if want else ())
    template_kwargs: dict[str, Any] = dict.fromkeys(family.switches, want)
    if not want or reasoning_effort is None:
        return ReasoningControls(template_kwargs, {})
    if not family.efforts:
        note = f"{model} takes no effort level, only thinking on or off: reasoning_effort={reasoning_effort} was sent as thinking on"
        return ReasoningControls(template_kwargs, {}, (note,))
    return _with_effort(model, family, reasoning_effort, template_kwargs)


def _always_reasoning(
    model: str, family: Family, want: bool, reasoning_effort: str | None, asked: str
) -> ReasoningControls:
    if not want:
        note = f"{model} always reasons: {asked} cannot turn its thinking off"
        if not family.efforts:
            return ReasoningControls({}, {}, (note,))
        lowest = _with_effort(model, family, "low", {})
        note += f"; it was asked for its lowest effort, {family.efforts['low']}"
        return ReasoningControls(lowest.template_kwargs, lowest.fields, (note,))
    if reasoning_effort is None:
        return ReasoningControls({}, {})
    if not family.efforts:
        note = f"{model} always reasons and takes no effort level: reasoning_effort={reasoning_effort} has no effect"
        return ReasoningControls({}, {}, (note,))
    return _with_effort(model, family, reasoning_effort, {})


def _with_effort(
    model: str, family: Family, reasoning_effort: str, template_kwargs: dict[str, Any]
) -> ReasoningControls:
    level = family.efforts[reasoning_effort]
    notes = (
        ()
        if level == reasoning_effort
        else (f"{model} has no effort level {reasoning_effort}: sent {level}",)
    )
    if family.effort_in_template:
        return ReasoningControls({**template_kwargs, "reasoning_effort": level}, {}, notes)
    return ReasoningControls(template_kwargs, {"reasoning_effort": level}, notes)
