"""What a team's weekly digest says, computed from per-person figures. Never a ranking of people."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config import OrgConfig
from bot.errors import UsageError
from bot.me import people_weeks
from bot.metrics import PersonWeek, median, yield_per_100usd
from bot.prices import PriceTable
from bot.weeks import Week
from storage.queries import last_ingest_per_source, team_members

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

    @property
    def current(self) -> WeekFigures:
        return self.history[-1]

    @property
    def previous(self) -> WeekFigures | None:
        return self.history[-2] if len(self.history) > 1 else None

    @property
    def suppressed(self) -> bool:
        return not self.current.shown

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


def load_digest(session: Session, config: OrgConfig, prices: PriceTable, team: str, week: Week) -> Digest:
    if config.team(team) is None:
        known = ", ".join(t.name for t in config.teams) or "none configured"
        raise UsageError(f"unknown team {team!r} (teams: {known})")
    ids = [m.id for m in team_members(session, team) if m.id is not None]
    weeks = [week.shift(-back) for back in range(HISTORY_WEEKS)]
    figures = people_weeks(session, config, prices, ids, weeks) if ids else {}
    return build_digest(team, week, figures, ids, config.policy.min_group_size, last_ingest_per_source(session))
