"""The person-week read model: figures for every (person, week) asked for, from two queries.

Invariant: a request reads its figures here once, over the whole span of weeks it needs, and every
answer or digest of that request is computed from what was read, in memory. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.attribution import count_once
from bot.core.facts import ActivityFact, OutcomeFact, SeatFact, UsageFact
from bot.core.metrics import PersonWeek, person_week
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.errors import UnknownPerson
from bot.reads.queries import activity_facts, outcome_facts, person_by_email, seat_facts, team_members, usage_facts
from storage.models import Person

Figures = Mapping[tuple[int, str], PersonWeek]


def people_weeks(
    session: Session, config: OrgConfig, prices: PriceTable, person_ids: Sequence[int], weeks: Sequence[Week]
) -> dict[tuple[int, str], PersonWeek]:
    """Figures for every (person, week), from two queries."""
    start, end = min(weeks).monday, max(weeks).end
    usage = count_once(usage_facts(session, person_ids, start, end), prices.canonical)
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


def span(first: Week, last: Week) -> tuple[Week, ...]:
    """Every week from `first` to `last`, both included, oldest first."""
    weeks = [first]
    while weeks[-1] < last:
        weeks.append(weeks[-1].shift(1))
    return tuple(weeks)


@dataclass(frozen=True)
class TeamWeeks:
    """Some people (a team, or one person) and their figures for every week of a span."""

    members: tuple[Person, ...]
    weeks: tuple[Week, ...]
    figures: Figures

    @property
    def ids(self) -> list[int]:
        return [m.id for m in self.members if m.id is not None]

    def of(self, person_id: int, week: Week) -> PersonWeek:
        return self.figures[(person_id, str(week))]

    def covers(self, weeks: Iterable[Week]) -> bool:
        return set(weeks) <= set(self.weeks)


def team_weeks(
    session: Session, config: OrgConfig, prices: PriceTable, team: str, weeks: Sequence[Week]
) -> TeamWeeks:
    """A team's members and their figures over these weeks: three queries."""
    return _weeks_of(session, config, prices, tuple(team_members(session, team)), weeks)


def _weeks_of(
    session: Session, config: OrgConfig, prices: PriceTable, members: tuple[Person, ...], weeks: Sequence[Week]
) -> TeamWeeks:
    ids = [m.id for m in members if m.id is not None]
    figures = people_weeks(session, config, prices, ids, weeks) if ids else {}
    return TeamWeeks(members, tuple(sorted(weeks)), figures)


@dataclass(frozen=True)
class AskerWeeks:
    """Everything one person's answers read: them, their team's figures, their activity and seats."""

    person: Person
    person_id: int
    team: TeamWeeks  # the asker's team; only the asker when they have none or the team wasn't asked for
    activity: tuple[ActivityFact, ...] = ()
    seats: tuple[SeatFact, ...] = ()

    def mine(self, week: Week) -> PersonWeek:
        return self.team.of(self.person_id, week)

    def activity_in(self, week: Week) -> list[ActivityFact]:
        return [a for a in self.activity if week.monday <= a.day < week.end]

    def seats_in(self, week: Week) -> list[SeatFact]:
        return [s for s in self.seats if week.monday <= s.day < week.end]


def read_asker(
    session: Session, config: OrgConfig, prices: PriceTable, email: str, weeks: Sequence[Week],
    *, team: bool = True, activity: bool = True,
) -> AskerWeeks:
    """One person's read model over the whole span of `weeks`: at most six queries, however many weeks.

    `team`: also their team members' figures (for the band in the team); `activity`: also their
    activity and seat snapshots (for rework and idle seats).
    """
    person = person_by_email(session, email)
    if person is None or person.id is None:
        raise UnknownPerson(f"{email} is not in the directory: add them to the config's people")
    members = tuple(team_members(session, person.team)) if team and person.team else ()
    if person.id not in {m.id for m in members}:
        members += (person,)
    read = _weeks_of(session, config, prices, members, span(min(weeks), max(weeks)))
    if not activity:
        return AskerWeeks(person, person.id, read)
    start, end = min(weeks).monday, max(weeks).end
    return AskerWeeks(
        person, person.id, read,
        activity=tuple(activity_facts(session, [person.id], start, end)),
        seats=tuple(seat_facts(session, [person.id], start, end)),
    )
