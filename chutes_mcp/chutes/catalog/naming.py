"""Finding a model by the names people actually type: any case, without the org, with or without `-TEE`.

Shared by the LLM resolver and the embedding catalog. TEE-ness always comes from the catalog flag; the
`-TEE` suffix only pairs twins (Chutes names a TEE copy `<name>-TEE`) and, when the user types it, says
they asked for a TEE model, so such a request never lands on a model without TEE.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from chutes_mcp.chutes.errors import ModelNotFoundError

_TEE_SUFFIX = "-tee"
PROVIDER_PREFIX = "chutes/"  # how OpenClaw and LiteLLM spell Chutes model refs


def base_name(lowered: str) -> str:
    """A lowercased name without its `-tee` suffix: the key that pairs a model with its TEE twin."""
    return lowered.removesuffix(_TEE_SUFFIX)


def short_name(lowered: str) -> str:
    """A lowercased name without its org prefix (`zai-org/glm-4.7` -> `glm-4.7`)."""
    return lowered.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class NameEntry:
    id: str
    tee: bool
    other_keys: tuple[str, ...] = ()  # e.g. the HF root or the chute_id, which Chutes also accepts


@dataclass(frozen=True)
class NameMatch:
    id: str
    tee: bool
    steps: tuple[str, ...]  # how the typed name was read, e.g. ("org_omitted", "tee_twin")


class NameIndex:
    """Case-insensitive lookups over one catalog, built once per catalog copy."""

    def __init__(self, entries: Iterable[NameEntry]) -> None:
        self._tee: dict[str, bool] = {}
        self._exact: dict[str, str] = {}
        self._by_base: dict[str, list[str]] = {}
        self._by_short_base: dict[str, list[str]] = {}
        self._by_other_key: dict[str, list[str]] = {}
        for entry in entries:
            lowered = entry.id.lower()
            if lowered in self._exact:
                continue
            self._tee[entry.id] = entry.tee
            self._exact[lowered] = entry.id
            base = base_name(lowered)
            self._by_base.setdefault(base, []).append(entry.id)
            self._by_short_base.setdefault(short_name(base), []).append(entry.id)
            for key in entry.other_keys:
                self._by_other_key.setdefault(key.lower(), []).append(entry.id)

    def find(self, name: str, *, tee_only: bool) -> NameMatch | None:
        """The model `name` means, preferring a TEE twin under `tee_only`; None when nothing matches.

        Raises ModelNotFoundError when a name without its org fits models of several orgs.
        """
        match = self._find(name.strip(), tee_only=tee_only)
        if match is None and name.strip().lower().startswith(PROVIDER_PREFIX):
            match = self._find(name.strip()[len(PROVIDER_PREFIX) :], tee_only=tee_only)
            if match is not None:
                return NameMatch(match.id, match.tee, ("provider_prefix", *match.steps))
        return match

    def _find(self, name: str, *, tee_only: bool) -> NameMatch | None:
        lowered = name.lower()
        typed_tee = lowered.endswith(_TEE_SUFFIX)
        exact = self._exact.get(lowered)
        if exact is not None:
            case_step = () if exact == name else ("case_insensitive",)
            if self._tee[exact] or not tee_only:
                return NameMatch(exact, self._tee[exact], case_step)
        base = base_name(lowered)
        twins = self._by_base.get(base)
        if twins:
            return self._choose(twins, typed_tee=typed_tee, tee_only=tee_only, steps=())
        if "/" not in base:
            same_short = self._by_short_base.get(base, [])
            bases = list(dict.fromkeys(base_name(model_id.lower()) for model_id in same_short))
            if len(bases) > 1:
                raise ModelNotFoundError(
                    f"{name!r} fits several models: {', '.join(same_short[:5])}",
                    hint="Add the org prefix to say which one, e.g. " + same_short[0],
                )
            if bases:
                return self._choose(
                    same_short, typed_tee=typed_tee, tee_only=tee_only, steps=("org_omitted",)
                )
        others = self._by_other_key.get(lowered)
        if others:
            return self._choose(others, typed_tee=typed_tee, tee_only=tee_only, steps=("alternate_key",))
        return None

    def _choose(
        self, ids: list[str], *, typed_tee: bool, tee_only: bool, steps: tuple[str, ...]
    ) -> NameMatch | None:
        tee_ids = [model_id for model_id in ids if self._tee[model_id]]
        plain_ids = [model_id for model_id in ids if not self._tee[model_id]]
        if typed_tee and not tee_ids:
            return None  # asked for a TEE model: its plain twin is no substitute
        if tee_ids and (typed_tee or tee_only or not plain_ids):
            chosen, twin = tee_ids[0], not typed_tee
        else:
            chosen, twin = plain_ids[0], False
        return NameMatch(chosen, self._tee[chosen], (*steps, "tee_twin") if twin else steps)

    def nearest(self, name: str, *, tee_only: bool, count: int = 3) -> list[str]:
        """The `count` ids closest in spelling to `name` (TEE models only under `tee_only`)."""
        lowered = name.strip().lower()
        pool = {
            key: model_id
            for lowered_id, model_id in self._exact.items()
            if self._tee[model_id] or not tee_only
            for key in (lowered_id, short_name(lowered_id))
        }
        found = difflib.get_close_matches(lowered, pool, n=count * 2, cutoff=0.0)
        return list(dict.fromkeys(pool[key] for key in found))[:count]
