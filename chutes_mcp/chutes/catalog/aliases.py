"""Turning what a user writes as `model` into what Chutes should receive.

Accepted: built-in and user aliases, `chutes/<id>`, `<id>` in any letter case, `<name>` without the org when
only one org has it, with or without `-TEE` (the TEE twin is preferred under tee_only), the HF `root` or the
`chute_id`, and Chutes routing strings: `a,b,c` (ordered failover), a trailing `:latency` or `:throughput`,
and `:THINKING`, with every member resolved. A built-in alias whose target has left the catalog, or is not a
TEE model under tee_only, falls back to the pick preset it stands for, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from chutes_mcp.chutes.catalog.filters import CatalogSource, ModelFilter
from chutes_mcp.chutes.catalog.naming import PROVIDER_PREFIX, NameEntry, NameIndex
from chutes_mcp.chutes.catalog.picker import PickRequest, pick_models
from chutes_mcp.chutes.catalog.presets import Preset
from chutes_mcp.chutes.catalog.routing import (
    RoutingSelector,
    RoutingString,
    format_routing_string,
    parse_routing_string,
)
from chutes_mcp.chutes.catalog.service import CatalogView
from chutes_mcp.chutes.errors import BadRequestError, ModelNotFoundError, TeeRequiredError


@dataclass(frozen=True)
class BuiltinAlias:
    target: str
    intent: Preset  # what to pick instead when the target is gone or not allowed


BUILTIN_ALIASES: Mapping[str, BuiltinAlias] = {
    # The three names OpenClaw documents for Chutes, so configs copied from there keep working.
    "chutes-fast": BuiltinAlias("zai-org/GLM-4.7-FP8", "cheap"),
    "chutes-pro": BuiltinAlias("deepseek-ai/DeepSeek-V3.2-TEE", "reasoning"),
    "chutes-vision": BuiltinAlias("chutesai/Mistral-Small-3.2-24B-Instruct-2506", "vision"),
    # GLM-4.7-TEE: OpenClaw's default Chutes model, in a TEE (so it also serves tee_only users), with tools,
    # structured outputs and reasoning, a 200k context, and the chute Chutes itself re-routes plain
    # `zai-org/GLM-4.7` to. chutes-pro already names the other strong TEE candidate, DeepSeek-V3.2-TEE.
    "chutes-default": BuiltinAlias("zai-org/GLM-4.7-TEE", "general"),
}


class ResolvedMember(BaseModel):
    """One model of a resolution and how the written name led to it."""

    requested: str = Field(description="The member as written.")
    id: str = Field(description="The catalog model id it resolved to.")
    tee: bool | None = Field(description="Runs in a TEE (confidential_compute).")
    via: list[str] = Field(
        description="How it was read, in order: provider_prefix, alias:<name>, user_alias:<name>, "
        "case_insensitive, org_omitted, tee_twin, alternate_key (root or chute_id), intent:<preset>."
    )
    note: str | None = Field(None, description="Anything the caller should be told, e.g. an alias fallback.")


class Resolution(BaseModel):
    """What to send as `model`, with the reading of every member."""

    requested: str = Field(description="The model string as given.")
    model: str = Field(description="The value to send to Chutes as `model` (an id or a routing string).")
    members: list[ResolvedMember] = Field(description="Resolved models, in failover order.")
    selector: RoutingSelector | None = Field(
        None, description="Chutes ranks the members by `latency` or `throughput` instead of their order."
    )
    thinking: bool = Field(False, description="`:THINKING` was given: Chutes switches reasoning on.")
    source: CatalogSource = Field(description="Catalog copy used: live, cache, disk or bundled.")
    fetched_at: datetime = Field(description="When that catalog copy was fetched.")

    @property
    def model_ids(self) -> list[str]:
        return [member.id for member in self.members]


class ModelResolver:
    """Resolves model names against a catalog view; holds the user aliases from config."""

    def __init__(self, user_aliases: Mapping[str, str] | None = None) -> None:
        self._user_aliases: dict[str, str] = {}
        for alias, target in (user_aliases or {}).items():
            name = alias.strip().lower()
            if not name or "," in name or not target.strip():
                raise BadRequestError(
                    f"alias {alias!r} = {target!r} is not usable",
                    hint="Aliases need a name without commas and a model id (or `a,b,c` list) as target.",
                )
            self._user_aliases[name] = target.strip()

    def aliases(self) -> dict[str, str]:
        """Every alias and its target, user aliases overriding built-ins of the same name."""
        merged = {name: alias.target for name, alias in BUILTIN_ALIASES.items()}
        merged.update(self._user_aliases)
        return merged

    def resolve(self, view: CatalogView, name: str, *, tee_only: bool = False) -> Resolution:
        """Resolve `name`; raises ModelNotFoundError, TeeRequiredError or BadRequestError."""
        parsed = parse_routing_string(name)
        selector, thinking = parsed.selector, parsed.thinking
        members: list[ResolvedMember] = []
        for written in parsed.members:
            resolved, inner = self._member(view, written, tee_only=tee_only, seen=frozenset())
            members.extend(resolved)
            selector = selector or inner.selector
            thinking = thinking or inner.thinking
        first_of_each: dict[str, ResolvedMember] = {}
        for member in members:
            first_of_each.setdefault(
                member.id, member if member.via else member.model_copy(update={"via": ["exact"]})
            )
        unique = list(first_of_each.values())
        return Resolution(
            requested=name,
            model=format_routing_string([member.id for member in unique], selector, thinking),
            members=unique,
            selector=selector,
            thinking=thinking,
            source=view.source,
            fetched_at=view.fetched_at,
        )

    def _member(
        self, view: CatalogView, written: str, *, tee_only: bool, seen: frozenset[str]
    ) -> tuple[list[ResolvedMember], RoutingString]:
        """Resolve one member; an alias to a routing string yields several, plus that string's switches."""
        no_switches = RoutingString((), None, False)
        index = self._index(view)
        lowered = written.lower().removeprefix(PROVIDER_PREFIX)
        prefix_steps = ("provider_prefix",) if len(lowered) < len(written) else ()
        if lowered in seen:
            raise BadRequestError(
                f"alias {written!r} refers to itself", hint="Fix the alias table in config."
            )

        user_target = self._user_aliases.get(lowered)
        if user_target is not None:
            target = parse_routing_string(user_target)
            members: list[ResolvedMember] = []
            for part in target.members:
                try:
                    resolved, _ = self._member(view, part, tee_only=tee_only, seen=seen | {lowered})
                except ModelNotFoundError as exc:
                    raise ModelNotFoundError(
                        f"alias {lowered!r} points to {part!r}: {exc.message}", hint=exc.hint
                    ) from None
                for member in resolved:
                    via = [*prefix_steps, f"user_alias:{lowered}", *member.via]
                    members.append(member.model_copy(update={"requested": written, "via": via}))
            return members, target

        builtin = BUILTIN_ALIASES.get(lowered)
        if builtin is not None:
            return [
                self._builtin(view, index, written, lowered, builtin, tee_only, prefix_steps)
            ], no_switches

        match = index.find(written, tee_only=tee_only)
        if match is None:
            nearest = index.nearest(written, tee_only=tee_only)
            raise ModelNotFoundError(
                f"model not found: {written!r}; nearest: {', '.join(nearest) or 'none'}",
                hint=f"Use one of {', '.join(nearest)}, an alias ({', '.join(self.aliases())}), "
                "or see the list with `chutes-mcp models`.",
            )
        if tee_only and not match.tee:
            nearest = index.nearest(written, tee_only=True)
            raise TeeRequiredError(
                f"{match.id} does not run in a TEE and TEE-only mode is on",
                hint=f"Use a TEE model instead, e.g. {', '.join(nearest)}; or turn off CHUTES_TEE_ONLY.",
            )
        member = ResolvedMember(requested=written, id=match.id, tee=match.tee, via=list(match.steps))
        return [member], no_switches

    def _builtin(
        self,
        view: CatalogView,
        index: NameIndex,
        written: str,
        alias: str,
        builtin: BuiltinAlias,
        tee_only: bool,
        prefix_steps: tuple[str, ...],
    ) -> ResolvedMember:
        match = index.find(builtin.target, tee_only=tee_only)
        if match is not None and (match.tee or not tee_only):
            via = [*prefix_steps, f"alias:{alias}", *match.steps]
            return ResolvedMember(requested=written, id=match.id, tee=match.tee, via=via)
        why = "is not in the catalog" if match is None else "does not run in a TEE and TEE-only mode is on"
        result = pick_models(
            view, PickRequest(task=builtin.intent, constraints=ModelFilter(tee_only=tee_only), k=1)
        )
        if not result.picks:
            raise ModelNotFoundError(
                f"alias {alias!r} points to {builtin.target}, which {why}, and no model fits its "
                f"{builtin.intent!r} preset",
                hint="Name a model explicitly; see the list with `chutes-mcp models`.",
            )
        pick = result.picks[0]
        return ResolvedMember(
            requested=written,
            id=pick.id,
            tee=pick.tee,
            via=[*prefix_steps, f"alias:{alias}", f"intent:{builtin.intent}"],
            note=f"{alias} points to {builtin.target}, which {why}; picked {pick.id} with the "
            f"{builtin.intent!r} preset instead",
        )

    def _index(self, view: CatalogView) -> NameIndex:
        def build() -> NameIndex:
            return NameIndex(
                NameEntry(
                    model.id,
                    model.tee is True,
                    tuple(key for key in (model.root, model.chute_id) if key),
                )
                for model in view.models
            )

        return view.snapshot.memo(("names",), build)
