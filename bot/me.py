"""`me`: one person's week, privately, with where they stand in their team as a band."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from bot.config import OrgConfig
from bot.errors import UnknownPerson
from bot.metrics import PersonWeek, band, median, person_week
from bot.prices import PriceTable
from bot.weeks import Week
from storage.queries import OutcomeFact, UsageFact, outcome_facts, person_by_email, team_members, usage_facts


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
            "flags": [],
            "team": None if self.team is None else {
                "name": self.team.name, "people": self.team.people,
                "median_yield_per_100usd": self.team.median_yield_per_100usd, "band": self.team.band,
            },
        }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def people_weeks(
    session: Session, config: OrgConfig, prices: PriceTable, person_ids: list[int], weeks: list[Week]
) -> dict[tuple[int, str], PersonWeek]:
    """Figures for every (person, week), from two queries."""
    start, end = min(weeks).monday, max(weeks).end
    usage = usage_facts(session, person_ids, start, end)
    outcomes = outcome_facts(session, person_ids, [str(w) for w in weeks])
    usage_by: dict[tuple[int | None, str], list[UsageFact]] = defaultdict(list)
    for fact in usage:
        usage_by[(fact.person_id, str(Week.of(fact.day)))].append(fact)
    outcomes_by: dict[tuple[int | None, str], list[OutcomeFact]] = defaultdict(list)
    for outcome in outcomes:
        outcomes_by[(outcome.person_id, outcome.week)].append(outcome)
    return {
        (pid, str(w)): person_week(str(w), usage_by[(pid, str(w))], outcomes_by[(pid, str(w))], config.policy, prices)
        for pid in person_ids
        for w in weeks
    }


def me_report(session: Session, config: OrgConfig, prices: PriceTable, email: str, week: Week) -> MeReport:
    person = person_by_email(session, email)
    if person is None or person.id is None:
        raise UnknownPerson(f"{email} is not in the directory: add them to the config's people")
    members = team_members(session, person.team) if person.team else [person]
    ids = [m.id for m in members if m.id is not None]
    figures = people_weeks(session, config, prices, ids, [week])
    mine = figures[(person.id, str(week))]
    standing = None
    if person.team and len(ids) >= config.policy.min_group_size:
        yields = [y for y in (figures[(i, str(week))].yield_per_100usd for i in ids) if y is not None]
        own = mine.yield_per_100usd
        standing = TeamStanding(
            name=person.team, people=len(ids), median_yield_per_100usd=median(yields),
            band=band(own, yields) if own is not None and len(yields) >= config.policy.min_group_size else None,
        )
    return MeReport(person.email, person.name, week, mine, standing)
