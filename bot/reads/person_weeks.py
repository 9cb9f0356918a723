"""The person-week read model: figures for every (person, week) asked for, from two queries.

Invariant: a request reads its figures here once, over the whole span of weeks it needs, and every
answer or digest of that request is computed from what was read, in memory. Each person-week carries its
metered spend and its fixed seat cost (seats prorated per day at the config's `seats:` prices), so every
yield is the one rule over both (`bot.core.metrics.yield_per_100usd`). Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Float, Integer, String, and_, cast, literal, literal_column, null, or_, select, union_all
from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.attribution import count_once
from bot.core.facts import ActivityFact, OutcomeFact, SeatFact, UsageFact
from bot.core.judgement_facts import WorkItem
from bot.core.metrics import PersonWeek, person_week
from bot.core.prices import PriceTable
from bot.core.seats import SeatSnapshot, seat_spans
from bot.core.weeks import Week, weeks_between
from bot.errors import UnknownPerson
from bot.reads.queries import activity_facts, person_by_email, seat_facts, team_members, usage_facts
from bot.reads.work import FILES
from bot.reads.work import _item as work_item  # the one conversion of a stored row; the query here is scoped
from storage.models import Identity, Outcome, Person, Seat, WorkDetail, table

TICKETS = ("jira", "linear")

Figures = Mapping[tuple[int, str], PersonWeek]


def people_weeks(
    session: Session, config: OrgConfig, prices: PriceTable, person_ids: Sequence[int], weeks: Sequence[Week]
) -> dict[tuple[int, str], PersonWeek]:
    """Figures for every (person, week), from two queries (usage; outcomes with seat snapshots)."""
    start, end = min(weeks).monday, max(weeks).end
    usage = count_once(usage_facts(session, person_ids, start, end), prices.canonical)
    outcomes, seats, seat_days = outcomes_and_seats(session, person_ids, [str(w) for w in weeks], end)
    spans = seat_spans(seats, config.seats, seat_days)
    usage_by: dict[tuple[int | None, str], list[UsageFact]] = defaultdict(list)
    for fact in usage:
        usage_by[(fact.person_id, str(Week.of(fact.day)))].append(fact)
    outcomes_by: dict[tuple[int | None, str], list[OutcomeFact]] = defaultdict(list)
    for outcome in outcomes:
        outcomes_by[(outcome.person_id, outcome.week)].append(outcome)
    fixed: dict[tuple[int | None, str], float] = defaultdict(float)
    for seat in spans:
        for w in weeks:
            fixed[(seat.owner, str(w))] += seat.cost_in(w.monday, w.end)
    return {
        (pid, str(w)): person_week(str(w), usage_by[(pid, str(w))], outcomes_by[(pid, str(w))], config.policy, prices,
                                   fixed[(pid, str(w))])
        for pid in person_ids
        for w in weeks
    }


def outcomes_and_seats(
    session: Session, person_ids: Sequence[int], weeks: Sequence[str], end: date,
) -> tuple[list[OutcomeFact], list[SeatSnapshot], dict[str, set[date]]]:
    """These people's outcomes in these weeks (as `bot.reads.queries.outcome_facts` reads them), their seat
    snapshots before `end`, and the days each seat feed took a snapshot on: one statement."""
    i, s = table(Identity).c, table(Seat).c
    outcome = table(Outcome)
    o, ids = outcome.c, list(person_ids)
    no_int, no_text, no_float, no_day = cast(null(), Integer), cast(null(), String), cast(null(), Float), \
        cast(null(), Date)
    direct = (
        select(literal_column("'o'"), i.person_id, o.week, o.kind, o.quantity, no_int, no_day, no_day)
        .join_from(outcome, table(Identity), o.identity_id == i.id)
        .where(i.person_id.in_(ids), o.week.in_(list(weeks)), o.kind != "pr_revert")
    )
    revert, target = outcome.alias("revert"), outcome.alias("target")
    charges = (  # a merged revert charges the author of the merge it points at, in the revert's week
        select(literal_column("'o'"), i.person_id, revert.c.week, literal("pr_reverted"), literal(1.0), no_int,
               no_day, no_day)
        .join_from(revert, target, (target.c.key == revert.c.ref) & (target.c.kind == "pr_merged"))
        .join(table(Identity), target.c.identity_id == i.id)
        .where(revert.c.kind == "pr_revert", i.person_id.in_(ids), revert.c.week.in_(list(weeks)))
    )
    seats = (
        select(literal_column("'s'"), i.person_id, s.source, s.plan, s.monthly_cost_usd, s.identity_id, s.day,
               s.pending_cancellation)
        .join_from(table(Seat), table(Identity), s.identity_id == i.id)
        .where(i.person_id.in_(ids), s.day < end)
    )
    days = select(literal_column("'d'"), no_int, s.source, no_text, no_float, no_int, s.day, no_day) \
        .where(s.day < end).distinct()
    outcomes, snaps, taken = [], [], defaultdict(set)
    for kind, pid, text, text2, number, seat, day, pending in session.execute(union_all(direct, charges, seats, days)):
        if kind == "o":
            outcomes.append(OutcomeFact(pid, text, text2, float(number)))
        elif kind == "s":
            snaps.append(SeatSnapshot(pid, str(seat), text, day, text2, number, pending))
        else:
            taken[text].add(day)
    return outcomes, snaps, dict(taken)


def span(first: Week, last: Week) -> tuple[Week, ...]:
    """Every week from `first` to `last`, both included, oldest first."""
    return weeks_between(first, last)


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


def team_work(session: Session, start: datetime, end: datetime, person_ids: Sequence[int]) -> list[WorkItem]:
    """The work that judging these people's spend needs, finished in [start, end), in one statement.

    Their own outcomes; everything in the repositories they shipped to (a revert or fix of their PR lives in
    its repository); and every ticket (a fix may close one, and a ticket's reopening is its own). Work
    elsewhere can neither undo theirs nor take their window-linked spend, so `judge` finds the same verdicts
    and cells as over the org's work (bot.reads.work.work_items) at a fraction of the rows.
    """
    w, i = table(WorkDetail).c, table(Identity).c
    ids = list(person_ids)
    window = and_(w.finished_at >= start, w.finished_at < end)
    repos = (select(w.repo).join_from(table(WorkDetail), table(Identity), w.identity_id == i.id)
             .where(window, i.person_id.in_(ids), w.repo.is_not(None)))
    wanted = or_(i.person_id.in_(ids), w.repo.in_(repos), w.source.in_(TICKETS))
    pulls = select(w.key).join_from(table(WorkDetail), table(Identity), w.identity_id == i.id).where(window, wanted)
    query = (
        select(table(WorkDetail), i.person_id)
        .join_from(table(WorkDetail), table(Identity), w.identity_id == i.id)
        .where(window, or_(and_(w.source != FILES, wanted), and_(w.source == FILES, w.key.in_(pulls))))
        .order_by(w.source, w.key)
    )
    rows = [row._mapping for row in session.execute(query)]
    files = {row["key"]: row for row in rows if row["source"] == FILES}
    return [work_item(row, files.get(row["key"])) for row in rows if row["source"] != FILES]
