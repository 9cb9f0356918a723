"""A generated org with a planted truth, for model-fit tests. Deterministic: no randomness, no clock.

Twelve people ship 60 PRs per (size, tier) cell for trivial, small and large PRs. On every size the standard
tier costs a third of the frontier tier per PR (same mean and median, a wider spread, another order). On trivial and
small PRs both tiers are reworked 10% of the time; on large PRs the frontier tier 10%, the standard tier 30%.
A maintainer without AI spend undoes PRs by reverts, by `fix:` PRs touching their files, and by PRs closing a
Jira Bug. Medium PRs are too few (4 per tier, 2 people) to be evidence. Each PR is open for two days alone, so
window linking gives it exactly its cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.core.judgement_facts import UsageDay, WorkItem

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
SINCE: date = START.date()
AS_OF = START + timedelta(days=100)  # every rework window has closed
PEOPLE = tuple(range(1, 13))
MAINTAINER = 99
PER_CELL = 60
MODELS = {"frontier": "claude-opus-4-6", "standard": "claude-sonnet-4-6"}
BASE_COST = {"trivial": 3.0, "small": 12.0, "medium": 30.0, "large": 60.0}
LINES = {"trivial": (8, 4, 1), "small": (100, 40, 3), "medium": (400, 200, 8), "large": (1200, 300, 20)}
NOISE = tuple(0.6 + 0.8 * ((7 * j) % PER_CELL) / (PER_CELL - 1) for j in range(PER_CELL))  # 0.6 … 1.4
STANDARD_SHARE = 1 / 3


@dataclass(frozen=True)
class Planted:
    items: tuple[WorkItem, ...]
    usage: tuple[UsageDay, ...]
    frontier_spend: dict[str, float]  # per size: what frontier-tier PRs of that size cost


@dataclass(frozen=True)
class _Spec:
    size: str
    tier: str
    index: int
    person: int
    cost: float
    reworked: bool


def reworked(size: str, tier: str, index: int) -> bool:
    if size == "large" and tier == "standard":
        return index % 10 in (0, 3, 6)  # 30%
    return index % 10 == 0  # 10%


def _specs() -> list[_Spec]:
    found = []
    for size in ("trivial", "small", "large"):
        for tier in ("frontier", "standard"):
            share = 1.0 if tier == "frontier" else STANDARD_SHARE
            for j in range(PER_CELL):
                noise = NOISE[j] if tier == "frontier" else 1 + 1.2 * (NOISE[(j + 17) % PER_CELL] - 1)
                found.append(_Spec(size, tier, j, PEOPLE[j % len(PEOPLE)], BASE_COST[size] * share * noise,
                                   reworked(size, tier, j)))
    for tier in ("frontier", "standard"):
        found.extend(_Spec("medium", tier, j, PEOPLE[j % 2], BASE_COST["medium"], False) for j in range(4))
    return found


def generate() -> Planted:
    items: list[WorkItem] = []
    usage: list[UsageDay] = []
    slots: dict[int, int] = {}
    frontier: dict[str, float] = {}
    for spec in _specs():
        slot = slots.get(spec.person, 0)
        slots[spec.person] = slot + 1
        pr = _pr(spec, START + timedelta(days=2 * slot, hours=9))
        items.append(pr)
        usage.extend(_spend(spec, pr))
        if spec.tier == "frontier":
            frontier[spec.size] = frontier.get(spec.size, 0.0) + spec.cost
        if spec.reworked:
            items.extend(_undo(spec, pr))
    for person in PEOPLE:  # exploring on a day with nothing open: unlinked, never dropped
        usage.append(UsageDay(person, (START + timedelta(days=70)).date(), MODELS["frontier"], "frontier", 5.0))
    return Planted(tuple(items), tuple(usage), frontier)


def _pr(spec: _Spec, opened: datetime) -> WorkItem:
    added, deleted, files = LINES[spec.size]
    number = f"{spec.size}-{spec.tier}-{spec.index}"
    return WorkItem(
        key=f"github:acme/shop#{number}:merged", source="pr", person_id=spec.person, ref=f"acme/shop#{number}",
        title=f"feat: {spec.size} change {spec.index}", additions=added, deletions=deleted, repo="acme/shop",
        files=tuple(f"src/{number}/part{i}.py" for i in range(files)),
        opened_at=opened, merged_at=opened + timedelta(days=1, hours=6), branch=f"feature/{number}",
    )


def _spend(spec: _Spec, pr: WorkItem) -> list[UsageDay]:
    assert pr.opened_at is not None
    days = (pr.opened_at.date(), pr.opened_at.date() + timedelta(days=1))
    return [UsageDay(spec.person, day, MODELS[spec.tier], spec.tier, spec.cost / 2) for day in days]


def _undo(spec: _Spec, pr: WorkItem) -> list[WorkItem]:
    """Undo the PR three days after its merge: a revert, a fix PR on its files, or a PR closing a Jira Bug."""
    assert pr.merged_at is not None
    at, how, name = pr.merged_at + timedelta(days=3), (spec.index // 10) % 3, f"{spec.size}-{spec.tier}-{spec.index}"
    base = dict(source="pr", person_id=MAINTAINER, repo="acme/shop", opened_at=at - timedelta(hours=2), merged_at=at,
                additions=3, deletions=1)
    if how == 0:
        return [WorkItem(key=f"github:acme/shop#revert-{name}:revert", ref=f"acme/shop#revert-{name}",
                         title=f'Revert "{pr.title}"', reverts=pr.key, files=pr.files, **base)]  # type: ignore[arg-type]
    ticket = f"SHOP-{name}"
    fix = WorkItem(key=f"github:acme/shop#fix-{name}:merged", ref=f"acme/shop#fix-{name}",
                   title=f"fix: {name} breaks checkout" if how == 1 else f"Handle empty cart ({ticket})",
                   files=pr.files[:1], fixes=(ticket,) if how == 2 else (), **base)  # type: ignore[arg-type]
    if how == 1:
        return [fix]
    bug = WorkItem(key=f"jira:{ticket}", source="jira", person_id=MAINTAINER, ref=ticket, title="Checkout fails",
                   issue_type="Bug", points=1, opened_at=at - timedelta(hours=3), closed_at=at)
    return [fix, bug]


def planted_weekly_saving(frontier_spend: float, since: date = SINCE, as_of: datetime = AS_OF) -> float:
    """What defaulting that class's frontier work to the standard tier saves a week, by construction."""
    weeks = ((as_of.date() - since).days + 1) / 7
    return frontier_spend * (1 - STANDARD_SHARE) / weeks
