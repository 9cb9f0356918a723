"""What a team's weekly digest says, computed from per-person figures. Never a ranking of people."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.facts import SeatFact
from bot.core.metrics import PersonWeek, median, spend_of, yield_per_100usd
from bot.core.prices import PriceTable
from bot.core.signals import SPIKE_HISTORY_WEEKS, idle_seats, person_flags
from bot.core.weeks import Week
from bot.errors import UsageError
from bot.reads.person_weeks import TeamWeeks, span, team_weeks
from bot.reads.queries import billed_total, last_ingest_per_source, seat_facts, unattributed_facts
from storage.models import Person

HISTORY_WEEKS = 8


@dataclass(frozen=True)
class WeekFigures:
    """A team's sums for one week; `shown` is False when too few people contributed to show them."""

    week: Week
    people_active: int
    spend_usd: float
    outcome_points: float
    spend_by_tier: Mapping[str, float]
    shown: bool

    @property
    def yield_per_100usd(self) -> float | None:
        return yield_per_100usd(self.outcome_points, self.spend_usd)


@dataclass(frozen=True)
class Digest:
    team: str
    week: Week
    members: int
    min_group_size: int
    history: Sequence[WeekFigures]  # oldest first, ending with `week`
    spend_by_tool: Mapping[str, float] = field(default_factory=dict)
    savings_usd: float = 0.0
    median_yield_per_100usd: float | None = None
    unpriced_models: int = 0
    freshness: Mapping[str, datetime] = field(default_factory=dict)
    signals: Mapping[str, float] = field(default_factory=dict)
    kudos: Sequence[tuple[str, str]] = ()  # (name, what they shipped): opted-in people only
    unattributed_spend_usd: float = 0.0  # org level: usage that belongs to nobody
    billed_usd: Mapping[str, float] = field(default_factory=dict)  # org level: the vendors' ledgers
    active_members: frozenset[int] = frozenset()  # who the week's figures cover (never shown)
    withheld: str | None = None  # why figures are held back although the group is large enough

    @property
    def current(self) -> WeekFigures:
        return self.history[-1]

    @property
    def previous(self) -> WeekFigures | None:
        return self.history[-2] if len(self.history) > 1 else None

    @property
    def suppressed(self) -> bool:
        return not self.current.shown or self.withheld is not None

    @property
    def has_data(self) -> bool:
        return self.current.people_active > 0

    @property
    def frontier_share(self) -> float | None:
        spend = self.current.spend_usd
        return self.current.spend_by_tier.get("frontier", 0.0) / spend if spend > 0 else None

    def as_json(self) -> dict[str, Any]:
        shown = not self.suppressed
        cur = self.current
        return {
            "team": self.team,
            "week": str(self.week),
            "suppressed": self.suppressed,
            "min_group_size": self.min_group_size,
            "people_active": cur.people_active if shown else None,
            "spend_usd": cur.spend_usd if shown else None,
            "outcome_points": cur.outcome_points if shown else None,
            "yield_per_100usd": cur.yield_per_100usd if shown else None,
            "median_yield_per_100usd": self.median_yield_per_100usd if shown else None,
            "frontier_share": self.frontier_share if shown else None,
            "savings_usd": self.savings_usd if shown else None,
            "spend_by_tier": dict(cur.spend_by_tier) if shown else None,
            "spend_by_tool": dict(self.spend_by_tool) if shown else None,
            "unpriced_models": self.unpriced_models if shown else None,
            "unattributed_spend_usd": self.unattributed_spend_usd if shown else None,
            "billed_usd": dict(self.billed_usd) if shown else None,
            "signals": dict(self.signals) if shown else None,
            "kudos": [{"name": n, "shipped": w} for n, w in self.kudos] if shown else None,
            "history": [
                {"week": str(h.week), "spend_usd": h.spend_usd if h.shown else None,
                 "outcome_points": h.outcome_points if h.shown else None}
                for h in self.history
            ],
            "freshness": {source: when.isoformat() for source, when in self.freshness.items()},
        }


def build_digest(
    team: str,
    week: Week,
    figures: Mapping[tuple[int, str], PersonWeek],
    member_ids: Sequence[int],
    min_group_size: int,
    freshness: Mapping[str, datetime] | None = None,
) -> Digest:
    """A pure function of the members' per-week figures."""
    weeks = [week.shift(-back) for back in range(HISTORY_WEEKS - 1, -1, -1)]
    history = [_week_figures(w, [figures[(m, str(w))] for m in member_ids], min_group_size) for w in weeks]
    current = [figures[(m, str(week))] for m in member_ids]
    by_tool: dict[str, float] = defaultdict(float)
    for person in current:
        for tool, spend in person.spend_by_tool.items():
            by_tool[tool] += spend
    yields = [y for y in (p.yield_per_100usd for p in current) if y is not None]
    return Digest(
        team=team, week=week, members=len(member_ids), min_group_size=min_group_size, history=history,
        spend_by_tool=dict(by_tool), savings_usd=sum(p.savings_usd for p in current),
        median_yield_per_100usd=median(yields) if len(yields) >= min_group_size else None,
        unpriced_models=len(set().union(*(p.unpriced_models for p in current))) if current else 0,
        freshness=dict(freshness or {}),
        active_members=frozenset(m for m, p in zip(member_ids, current, strict=True) if p.active),
    )


def _week_figures(week: Week, people: Sequence[PersonWeek], min_group_size: int) -> WeekFigures:
    by_tier: dict[str, float] = defaultdict(float)
    for person in people:
        for tier, spend in person.spend_by_tier.items():
            by_tier[tier] += spend
    active = sum(1 for p in people if p.active)
    return WeekFigures(
        week=week, people_active=active,
        spend_usd=sum(p.spend_usd for p in people), outcome_points=sum(p.outcome_points for p in people),
        spend_by_tier=dict(by_tier), shown=active >= min_group_size,
    )


def digest_weeks(week: Week) -> tuple[Week, ...]:
    """The weeks a digest of `week` is built from, oldest first."""
    return span(week.shift(1 - HISTORY_WEEKS), week)


def load_digest(
    session: Session, config: OrgConfig, prices: PriceTable, team: str, week: Week, read: TeamWeeks | None = None
) -> Digest:
    """The team's digest; `read`: the team's figures when the caller has read them already (reused, not re-read)."""
    if config.team(team) is None:
        known = ", ".join(t.name for t in config.teams) or "none configured"
        raise UsageError(f"unknown team {team!r} (teams: {known})")
    if read is None:
        read = team_weeks(session, config, prices, team, digest_weeks(week))
    elif not read.covers(digest_weeks(week)) or any(m.team != team for m in read.members):
        raise ValueError(f"the figures passed in are not {team}'s over the weeks of its {week} digest")
    members, ids, figures = list(read.members), read.ids, read.figures
    digest = build_digest(team, week, figures, ids, config.policy.min_group_size, last_ingest_per_source(session))
    if digest.suppressed:
        return digest
    seats = seat_facts(session, ids, week.monday, week.end)
    return replace(
        digest,
        signals=team_signals(figures, ids, week, digest.median_yield_per_100usd, seats, config),
        kudos=_kudos([m for m in members if m.kudos_opt_in and m.id is not None], figures, week),
        unattributed_spend_usd=unattributed_spend(session, config, prices, week),
        billed_usd=billed_total(session, week.monday, week.end),
    )


def team_signals(
    figures: Mapping[tuple[int, str], PersonWeek], ids: Sequence[int], week: Week,
    median_yield: float | None, seats: Sequence[SeatFact], config: OrgConfig,
) -> dict[str, float]:
    """How many members carry each private flag: counts only, never who."""
    counts: dict[str, float] = defaultdict(float)
    history = [week.shift(-back) for back in range(SPIKE_HISTORY_WEEKS, 0, -1)]
    for pid in ids:
        mine = figures[(pid, str(week))]
        idle = idle_seats([s for s in seats if s.person_id == pid], week)
        previous = [figures[(pid, str(w))].spend_usd for w in history if (pid, str(w)) in figures]
        for flag in person_flags(mine, previous, median_yield, idle, config.policy.flags):
            counts[flag.name] += 1
        counts["idle_seat_cost_usd"] += sum(s.monthly_cost_usd or 0.0 for s in idle)
    found = {name: counts.get(name, 0.0) for name in SIGNALS}
    found["spend_without_outcomes_usd"] = config.policy.flags.spend_without_outcomes_usd
    return found


SIGNALS = ("spend_without_outcomes", "frontier_heavy", "spike", "idle_seat", "idle_seat_cost_usd")


def _kudos(
    opted_in: Sequence[Person], figures: Mapping[tuple[int, str], PersonWeek], week: Week
) -> list[tuple[str, str]]:
    """Outcome-based recognition for people who asked for it, alphabetically: never ranked."""
    found = []
    for person in sorted(opted_in, key=lambda p: (p.name or p.email).lower()):
        mine = figures[(person.id, str(week))]  # type: ignore[index]
        shipped = shipped_summary(mine)
        if shipped:
            found.append((person.name or person.email, shipped))
    return found


def shipped_summary(week: PersonWeek) -> str:
    o = week.outcomes
    parts = []
    if o["pr_merged"]:
        parts.append(f"{o['pr_merged']:.0f} merged PR{'s' if o['pr_merged'] != 1 else ''}")
    if o["tickets_closed"]:
        parts.append(f"{o['tickets_closed']:.0f} ticket{'s' if o['tickets_closed'] != 1 else ''} closed")
    return ", ".join(parts)


def unattributed_spend(session: Session, config: OrgConfig, prices: PriceTable, week: Week) -> float:
    """Org-level spend that belongs to nobody this week, counted once."""
    facts = unattributed_facts(session, config.gateways, week.monday, week.end)
    return sum(spend_of(fact, prices) or 0.0 for fact, _kind, _value in facts)
