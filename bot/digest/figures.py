"""One team-week's figures as a digest may show them: per-person figures in, a disclosed `Sheet` out.

Invariant: every line a digest shows is a figure of the sheet `week_sheet` returns, and every figure of it
was asked of `bot.core.disclosure.disclose` over the people active that week. Each candidate names the
people it is about, and the population a reader cannot narrow with what is public anyway: who shipped
what is public in the org, so "spent with no outcome points" is counted among the people without points.
Evidence cells and recommendations (`bot.digest.judged`) are asked of `disclose` over the people in them,
and join the sheet only when the week's own figures may be shown. A feed's data reach is a figure over the
people who used it that week: a feed too few of them use is folded into "other feeds", never named.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace

from bot.core.disclosure import (
    Breakdown,
    Candidate,
    Count,
    Middle,
    Named,
    Org,
    Over,
    Ratio,
    Sheet,
    Total,
    disclose,
)
from bot.core.metrics import PersonWeek, yield_per_100usd
from bot.digest.judged import WorkInputs, evidence_figures, rework_candidates
from bot.digest.reach import OTHER as OTHER_FEEDS
from bot.digest.reach import REACH

SIGNALS = ("spend_without_outcomes", "frontier_heavy", "spike", "idle_seat")


@dataclass(frozen=True)
class Extras:
    """What a team-week's sheet needs beyond the members' figures; private inputs, never shown as such."""

    flags: Mapping[int, Collection[str]] = field(default_factory=dict)  # person id -> their flags' names
    idle_seat_cost: Mapping[int, float] = field(default_factory=dict)  # holders of idle paid seats -> monthly cost
    shipped: Mapping[int, str] = field(default_factory=dict)  # people opted in to kudos -> what they shipped
    org: Mapping[str, float] = field(default_factory=dict)  # org-level figures that belong to nobody
    work: WorkInputs = WorkInputs()  # the judged work: rework, spend by model, evidence
    reach: Mapping[str, tuple[float, frozenset[int]]] = field(default_factory=dict)  # feed -> (day ordinal, users)


def active(people: Mapping[int, PersonWeek]) -> frozenset[int]:
    return frozenset(pid for pid, week in people.items() if week.active)


def week_sheet(people: Mapping[int, PersonWeek], floor: int, extras: Extras | None = None) -> Sheet:
    """What the digest may show of these members' week (`people`: every member, active or not)."""
    extras = extras or Extras()
    sheet = disclose(active(people), floor, candidates(people, extras))
    if not sheet.shown:
        return sheet
    unnamed = [day for feed, (day, _users) in extras.reach.items() if sheet.get(f"{REACH}{feed}") is None]
    other = disclose(active(people), floor, [Total(f"{REACH}{OTHER_FEEDS}", min(unnamed))] if unnamed else [])
    return replace(sheet, figures=sheet.figures + other.figures + evidence_figures(extras.work, floor))


def candidates(people: Mapping[int, PersonWeek], extras: Extras) -> list[Candidate]:
    group = active(people)
    spend = sum(p.spend_usd for p in people.values())
    seats = sum(p.seat_cost_usd for pid, p in people.items() if pid in group)  # the people the figures cover
    points = sum(p.outcome_points for p in people.values())
    found: list[Candidate] = [
        Total("people_active", len(group)), Total("spend_usd", spend), Total("outcome_points", points),
        Total("seat_cost_usd", seats), Total("cost_usd", spend + seats),
    ]
    team_yield = yield_per_100usd(points, spend + seats)
    if team_yield is not None:
        found.append(Total("yield_per_100usd", team_yield))
    found += [Breakdown("tier", _parts(people, "spend_by_tier")), Breakdown("tool", _parts(people, "spend_by_tool"))]
    by_model = {pid: parts for pid, parts in extras.work.model_spend.items() if pid in people}
    found.append(Breakdown("model", _summed(by_model)))
    frontier = frozenset(pid for pid, p in people.items() if p.spend_by_tier.get("frontier"))
    found.append(Ratio("frontier_share", "tier:frontier", "spend_usd") if frontier else Total("frontier_share", 0.0))
    savers = frozenset(pid for pid, p in people.items() if p.savings_usd > 0)
    found.append(Over("savings_usd", sum(p.savings_usd for p in people.values()), savers, estimate=True,
                      requires="tier:frontier"))
    yields = {pid: y for pid, p in people.items() if (y := p.yield_per_100usd) is not None}
    found.append(Middle("median_yield_per_100usd", yields))
    unpriced = {pid: p.unpriced_models for pid, p in people.items() if p.unpriced_models}
    found.append(Over("unpriced_models", len(set().union(*unpriced.values())), frozenset(unpriced)))
    found += rework_candidates(extras.work.verdicts)
    found += [Over(f"{REACH}{feed}", day, users) for feed, (day, users) in extras.reach.items()]
    return found + _signals(people, group, extras) + [
        Named("kudos", extras.shipped), *(Org(key, value) for key, value in sorted(extras.org.items())),
    ]


def _parts(people: Mapping[int, PersonWeek], attribute: str) -> dict[str, tuple[float, frozenset[int]]]:
    return _summed({pid: getattr(week, attribute) for pid, week in people.items()})


def _summed(per_person: Mapping[int, Mapping[str, float]]) -> dict[str, tuple[float, frozenset[int]]]:
    """Each part's total and the people in it, from each person's parts."""
    sums: dict[str, float] = {}
    users: dict[str, set[int]] = {}
    for pid, parts in per_person.items():
        for name, value in parts.items():
            if value:
                sums[name] = sums.get(name, 0.0) + value
                users.setdefault(name, set()).add(pid)
    return {name: (sums[name], frozenset(users[name])) for name in sums}


def _signals(people: Mapping[int, PersonWeek], group: frozenset[int], extras: Extras) -> list[Candidate]:
    """Flags as counts: each among the people it could be about once what is public is known."""
    flagged = {name: frozenset(pid for pid, names in extras.flags.items() if name in names) for name in SIGNALS}
    without_points = frozenset(pid for pid in group if people[pid].outcome_points <= 0)
    holders = frozenset(pid for pid, cost in extras.idle_seat_cost.items() if cost)
    everyone = frozenset(people)
    return [
        Count("signal:spend_without_outcomes", flagged["spend_without_outcomes"], without_points),
        Count("signal:frontier_heavy", flagged["frontier_heavy"]),
        Count("signal:spike", flagged["spike"]),
        Count("signal:idle_seat", holders, everyone),
        Over("signal:idle_seat_cost_usd", sum(extras.idle_seat_cost.values()), holders, everyone),
    ]
