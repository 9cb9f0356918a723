"""`me`: one person's week, privately, with where they stand in their team as a band."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.core.attribution import count_once
from bot.config.org import OrgConfig
from bot.errors import UnknownPerson
from bot.core.signals import SPIKE_HISTORY_WEEKS, Flag, idle_seats, person_flags, rework
from bot.core.metrics import PersonWeek, band, median, person_week
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.reads.queries import (
    OutcomeFact, UsageFact, activity_facts, outcome_facts, person_by_email, seat_facts, team_members, usage_facts,
)


@dataclass(frozen=True)
class TeamStanding:
    name: str
    people: int
    median_yield_per_100usd: float | None
    band: str | None


@dataclass(frozen=True)
class MeReport:
    email: str
    name: str | None
    week: Week
    figures: PersonWeek
    team: TeamStanding | None
    flags: tuple[Flag, ...] = ()
    rework: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        f = self.figures
        return {
            "email": self.email,
            "name": self.name,
            "week": str(self.week),
            "spend_usd": f.spend_usd,
            "tokens": {
                "input": f.tokens.input, "output": f.tokens.output,
                "cache_read": f.tokens.cache_read, "cache_write": f.tokens.cache_write,
                "total": f.tokens.total,
            },
            "outcomes": {k: _number(v) for k, v in f.outcomes.items()},
            "outcome_points": f.outcome_points,
            "yield_per_100usd": f.yield_per_100usd,
            "frontier_share": f.frontier_share,
            "savings_usd": f.savings_usd,
            "spend_by_tool": f.spend_by_tool,
            "unpriced_models": sorted(f.unpriced_models),
            "rework": {k: _number(v) for k, v in self.rework.items()},
            "flags": [{"name": f.name, "detail": f.detail, "tip": f.tip} for f in self.flags],
            "team": None if self.team is None else {
                "name": self.team.name, "people": self.team.people,
                "median_yield_per_100usd": self.team.median_yield_per_100usd, "band": self.team.band,
            },
        }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def me_report(session: Session, config: OrgConfig, prices: PriceTable, email: str, week: Week) -> MeReport:
    person = person_by_email(session, email)
    if person is None or person.id is None:
        raise UnknownPerson(f"{email} is not in the directory: add them to the config's people")
    members = team_members(session, person.team) if person.team else [person]
    ids = [m.id for m in members if m.id is not None]
    history = [week.shift(-back) for back in range(SPIKE_HISTORY_WEEKS, 0, -1)]
    figures = people_weeks(session, config, prices, ids, [week])
    figures.update(people_weeks(session, config, prices, [person.id], history))
    mine = figures[(person.id, str(week))]
    standing = _standing(person.team, ids, figures, mine, week, config.policy.min_group_size)
    activity = activity_facts(session, [person.id], week.monday, week.end)
    seats = idle_seats(seat_facts(session, [person.id], week.monday, week.end), week)
    flags = person_flags(
        mine, [figures[(person.id, str(w))].spend_usd for w in history],
        standing.median_yield_per_100usd if standing else None, seats, config.policy.flags,
    )
    return MeReport(person.email, person.name, week, mine, standing, tuple(flags),
                    rework(activity, mine.outcomes["pr_reverted"]))


def _standing(
    team: str | None, ids: list[int], figures: dict[tuple[int, str], PersonWeek], mine: PersonWeek,
    week: Week, min_group_size: int,
) -> TeamStanding | None:
    """The team median and the person's band, only for teams at or above the privacy floor."""
    if team is None or len(ids) < min_group_size:
        return None
    yields = [y for y in (figures[(i, str(week))].yield_per_100usd for i in ids) if y is not None]
    own = mine.yield_per_100usd
    enough = len(yields) >= min_group_size
    return TeamStanding(
        name=team, people=len(ids), median_yield_per_100usd=median(yields) if enough else None,
        band=band(own, yields) if own is not None and enough else None,
    )
