"""The one disclosure function: every figure shown to anyone but the person it is about passes `disclose`.

Invariant: a `Figure` exists only when it passed these rules (its constructor refuses callers without this
module's gate, and the digest and `me` render numbers from figures only), so a new line cannot skip them:
- a group's figures are shown only when the group holds at least `floor` people;
- a figure over a subgroup (the users of a tool or a model tier, the people with a flag, the people named
  in kudos) is shown only when the subgroup and the rest of its population each hold at least `floor`
  people; none and all are fine. A breakdown's failing parts merge into "other"; a part that fails even
  then is omitted. What is not shown is recorded as `Withheld`, with the reason;
- named kudos only when at least `floor` people of the group stay unnamed;
- no statistic is one person's own value: a middle is the mean of the middle two (even) or three (odd);
- a band only when every band of the group holds at least `floor` people.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any

MIN_FLOOR = 5
OTHER = "other"
_GATE = object()
BAND_NAMES = ("lower", "middle", "upper")


@dataclass(frozen=True)
class Figure:
    """A figure that passed `disclose`: `people` is how many people it covers (its evidence)."""

    key: str
    value: float
    people: int
    estimate: bool = False
    label: str = ""
    gate: InitVar[object] = None

    def __post_init__(self, gate: object) -> None:
        if gate is not _GATE:
            raise TypeError("a Figure is made only by bot.core.disclosure.disclose")


@dataclass(frozen=True)
class Withheld:
    """A figure not shown, and why; `merged_into`: the part of a breakdown that carries it instead."""

    key: str
    reason: str
    merged_into: str | None = None


@dataclass(frozen=True)
class Sheet:
    """What may be shown of one group: figures, what was withheld and why, and who may be named for what."""

    floor: int
    figures: tuple[Figure, ...] = ()
    withheld: tuple[Withheld, ...] = ()
    kudos: tuple[tuple[int, str], ...] = ()  # (person id, what they shipped); names are looked up when shown

    @property
    def shown(self) -> bool:
        return self.get("people_active") is not None

    def get(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)

    def value(self, key: str) -> float | None:
        found = self.get(key)
        return None if found is None else found.value

    def parts(self, breakdown: str) -> tuple[Figure, ...]:
        """A breakdown's shown parts, largest first, with "other" last."""
        return tuple(f for f in self.figures if f.key.startswith(f"{breakdown}:"))

    def reason(self, key: str) -> Withheld | None:
        return next((w for w in self.withheld if w.key == key), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "floor": self.floor,
            "figures": [{"key": f.key, "value": f.value, "people": f.people, "estimate": f.estimate,
                         "label": f.label} for f in self.figures],
            "withheld": [{"key": w.key, "reason": w.reason, "merged_into": w.merged_into} for w in self.withheld],
            "kudos": [[pid, shipped] for pid, shipped in self.kudos],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sheet:
        """Restore a sheet `disclose` produced and `as_json` stored (a published snapshot), exactly."""
        return cls(
            floor=int(data["floor"]),
            figures=tuple(Figure(f["key"], float(f["value"]), int(f["people"]), bool(f["estimate"]),
                                 str(f["label"]), _GATE) for f in data["figures"]),
            withheld=tuple(Withheld(w["key"], w["reason"], w["merged_into"]) for w in data["withheld"]),
            kudos=tuple((int(pid), str(shipped)) for pid, shipped in data["kudos"]),
        )


# What may be asked of `disclose`: one candidate per figure or line.


@dataclass(frozen=True)
class Total:
    """A figure over the whole group (its spend, its points, how many were active)."""

    key: str
    value: float
    estimate: bool = False


@dataclass(frozen=True)
class Over:
    """A figure over the subgroup `members` of `population` (the group when None); `requires`: a key that
    must be shown too, when this figure would otherwise let that one be worked out."""

    key: str
    value: float
    members: frozenset[int]
    population: frozenset[int] | None = None
    estimate: bool = False
    requires: str | None = None


@dataclass(frozen=True)
class Count:
    """How many of `population` (the group when None: the people a flag could be about) have something."""

    key: str
    members: frozenset[int]
    population: frozenset[int] | None = None


@dataclass(frozen=True)
class Breakdown:
    """A total split into parts (a tool, a model tier), each with its value and the people in it."""

    key: str
    parts: Mapping[str, tuple[float, frozenset[int]]]


@dataclass(frozen=True)
class Ratio:
    """One shown figure over another (a share): shown only when both are."""

    key: str
    numerator: str
    denominator: str


@dataclass(frozen=True)
class Middle:
    """The middle of the group's values, as the mean of the middle two or three: never one person's value."""

    key: str
    values: Mapping[int, float]


@dataclass(frozen=True)
class Standing:
    """Which band of the group's values one person's value is in."""

    key: str
    person: int
    values: Mapping[int, float]


@dataclass(frozen=True)
class Named:
    """People who asked to be named for what they shipped: person id to what they shipped."""

    key: str
    named: Mapping[int, str]


@dataclass(frozen=True)
class Org:
    """An org-level figure that belongs to nobody in the directory (unattributed spend, vendor bills)."""

    key: str
    value: float


Candidate = Total | Over | Count | Breakdown | Ratio | Middle | Standing | Named | Org


@dataclass
class _Draft:
    floor: int
    figures: list[Figure] = field(default_factory=list)
    withheld: list[Withheld] = field(default_factory=list)
    kudos: list[tuple[int, str]] = field(default_factory=list)

    def show(self, key: str, value: float, people: int, estimate: bool = False, label: str = "") -> None:
        self.figures.append(Figure(key, value, people, estimate, label, _GATE))

    def hold(self, key: str, reason: str, merged_into: str | None = None) -> None:
        self.withheld.append(Withheld(key, reason, merged_into))

    def has(self, key: str) -> bool:
        return any(f.key == key for f in self.figures)


def disclose(group: frozenset[int], floor: int, candidates: Iterable[Candidate]) -> Sheet:
    """What of `candidates` may be shown about `group` (the people the figures cover), and why not the rest."""
    if floor < MIN_FLOOR:
        raise ValueError(f"the privacy floor is at least {MIN_FLOOR}, not {floor}")
    draft = _Draft(floor)
    for candidate in candidates:
        if isinstance(candidate, Org):
            draft.show(candidate.key, candidate.value, 0)
        elif len(group) < floor:
            draft.hold(candidate.key, f"fewer than {floor} people were active")
        else:
            _one(draft, group, candidate)
    return Sheet(floor, tuple(draft.figures), tuple(draft.withheld), tuple(draft.kudos))


def _one(draft: _Draft, group: frozenset[int], candidate: Candidate) -> None:
    floor = draft.floor
    match candidate:
        case Total(key, value, estimate):
            draft.show(key, value, len(group), estimate)
        case Over(key, value, members, population, estimate, requires):
            pool = group if population is None else population
            why = outside(members & pool, pool, floor, pool >= group)
            if why is None and requires is not None and members and not draft.has(requires):
                why = f"it would let {requires} be worked out, which is not shown"
            _show_or_hold(draft, key, why, value, len(members & pool), estimate)
        case Count(key, members, population):
            pool = group if population is None else population
            counted = members & pool
            _show_or_hold(draft, key, outside(counted, pool, floor, pool >= group), len(counted), len(pool))
        case Breakdown():
            _breakdown(draft, group, candidate)
        case Ratio(key, numerator, denominator):
            top, bottom = _value(draft, numerator), _value(draft, denominator)
            if top is None or bottom is None or bottom == 0:
                draft.hold(key, f"{numerator} or {denominator} is not shown")
            else:
                draft.show(key, top / bottom, len(group))
        case Middle(key, values):
            kept = {k: v for k, v in values.items() if k in group}
            _show_or_hold(draft, key, outside(frozenset(kept), group, floor), middle(kept.values()) or 0.0, len(kept))
        case Standing():
            _standing(draft, group, candidate)
        case Named(key, named):
            _named(draft, group, key, named)


def _show_or_hold(draft: _Draft, key: str, why: str | None, value: float, people: int,
                  estimate: bool = False) -> None:
    if why is None:
        draft.show(key, value, people, estimate)
    else:
        draft.hold(key, why)


def _value(draft: _Draft, key: str) -> float | None:
    return next((f.value for f in draft.figures if f.key == key), None)


def outside(members: frozenset[int], population: frozenset[int], floor: int, whole: bool = True) -> str | None:
    """Why a figure over `members` of `population` may not be shown; None when it may.

    `whole`: the population is the whole group. Only then is "all of them" fine: all of a population
    narrowed by what is public (the people without points) names each of them.
    """
    if len(population) < floor:
        return f"it is about fewer than {floor} people"
    if not members or (whole and members >= population):
        return None
    if len(members) < floor:
        return f"fewer than {floor} people are in it"
    if len(population - members) < floor:
        return f"fewer than {floor} people are outside it"
    return None


def _breakdown(draft: _Draft, group: frozenset[int], candidate: Breakdown) -> None:
    """Parts that fail merge into "other"; while "other" fails, the smallest shown part joins it."""
    floor, key = draft.floor, candidate.key
    parts = sorted(((name, value, members & group) for name, (value, members) in candidate.parts.items() if value),
                   key=lambda p: (-p[1], p[0]))
    shown = [p for p in parts if outside(p[2], group, floor) is None]
    merged = [p for p in parts if outside(p[2], group, floor) is not None]
    while merged and shown and outside(_union(merged), group, floor) is not None:
        merged.append(shown.pop())
    other_why = outside(_union(merged), group, floor) if merged else None
    if not shown:
        reason = other_why or "no part holds enough people on both sides; it would only repeat the total"
        for name, _value, members in merged:
            draft.hold(f"{key}:{name}", outside(members, group, floor) or reason)
        draft.hold(key, reason)
        return
    for name, value, members in shown:
        draft.show(f"{key}:{name}", value, len(members))
    if merged:
        into = f"{key}:{OTHER}"
        assert other_why is None, "merging stops once other may be shown, or when nothing is left to show"
        draft.show(into, sum(p[1] for p in merged), len(_union(merged)))
        for name, _value, members in merged:
            draft.hold(f"{key}:{name}", outside(members, group, floor) or "merged so that other may be shown", into)


def _union(parts: Sequence[tuple[str, float, frozenset[int]]]) -> frozenset[int]:
    return frozenset().union(*(members for _name, _value, members in parts))


def middle(values: Iterable[float]) -> float | None:
    """The mean of the middle two values (an even count) or three (an odd count): never one value alone."""
    ordered = sorted(values)
    count = len(ordered)
    if count < 2:
        return None
    centre = count // 2
    picked = ordered[centre - 1:centre + 1] if count % 2 == 0 else ordered[max(centre - 1, 0):centre + 2]
    return sum(picked) / len(picked)


def bands(values: Mapping[int, float]) -> dict[int, int]:
    """Each person's band, 0 (lower) to 2 (upper): thirds by rank, equal values always in the same band."""
    ordered = sorted(values.values())
    count = len(ordered)
    return {pid: min(2, sum(1 for v in ordered if v < value) * 3 // max(count, 1)) for pid, value in values.items()}


def _standing(draft: _Draft, group: frozenset[int], candidate: Standing) -> None:
    floor = draft.floor
    inside = {k: v for k, v in candidate.values.items() if k in group}
    if candidate.person not in inside:
        draft.hold(candidate.key, "you have no value to place this week")
        return
    placed = bands(inside)
    sizes = [sum(1 for b in placed.values() if b == band) for band in range(3)]
    if min(sizes) < floor:
        draft.hold(candidate.key, f"a band is shown only when each of the three bands holds at least {floor} people")
        return
    own = placed[candidate.person]
    where = {0: f"the {sizes[0]} lowest", 1: f"the middle {sizes[1]}", 2: f"the {sizes[2]} highest"}[own]
    draft.show(candidate.key, own, sizes[own], label=f"{BAND_NAMES[own]} band ({where} of {len(inside)})")


def _named(draft: _Draft, group: frozenset[int], key: str, named: Mapping[int, str]) -> None:
    inside = {pid: shipped for pid, shipped in named.items() if pid in group}
    if not inside:
        return
    if len(group) - len(inside) < draft.floor:
        draft.hold(key, f"names are shown only while at least {draft.floor} active people stay unnamed")
        return
    draft.kudos.extend(sorted(inside.items()))
