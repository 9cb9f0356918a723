"""How far each feed's data reaches: the last day it holds, not when a file was ingested.

Invariant: a reach is the feed's last data day across the whole org, never a day read off a team's own people,
and a team's digest names only the feeds its members used in the digest's weeks, each passed through
`bot.core.disclosure.disclose` as a figure over the members who used it: a feed only one or two members use is
not named (it would say who works with which tool): such feeds are folded into "other feeds", dated by the
earliest of their reaches. The org's first data day is the same for every digest, so
weeks before it read "no data" everywhere rather than $0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import Identity, Outcome, Usage, table

OUTCOME_FEEDS = {"github": "GitHub", "jira": "Jira", "linear": "Linear", "outcomes_csv": "outcomes CSV"}
OTHER = "other"
REACH = "reach:"  # the sheet's key prefix for a feed's reach


_READ: dict[tuple[str, object, object], dict[str, date]] = {}  # the last reading, by database and data version


def data_reach(session: Session) -> dict[str, date]:
    """Every feed's last data day across the org: usage by tool, outcomes by source.

    Grouping the whole usage table takes milliseconds per thousand people, and every team's digest asks, so the
    last reading is kept until a row is added (the newest row ids are its version: read through the primary key).
    """
    u, o = table(Usage).c, table(Outcome).c
    version = (str(session.get_bind().engine.url), session.execute(select(func.max(u.id))).scalar(),
               session.execute(select(func.max(o.id))).scalar())
    if version not in _READ:
        _READ.clear()
        _READ[version] = _reach(session)
    return dict(_READ[version])


def _reach(session: Session) -> dict[str, date]:
    u, o = table(Usage).c, table(Outcome).c
    found = {f"tool:{tool}": day for tool, day in session.execute(select(u.tool, func.max(u.day)).group_by(u.tool))}
    for source, when in session.execute(select(o.source, func.max(o.occurred_at)).group_by(o.source)):
        found[f"outcomes:{source}"] = when.date() if isinstance(when, datetime) else when
    return found


def reach_inputs(
    session: Session, person_ids: Sequence[int], start: date, end: date
) -> dict[str, tuple[float, frozenset[int]]]:
    """Each feed these people used in [start, end): its org-wide reach (as a day ordinal) and who used it.

    `bot.digest.figures` asks `disclose` for each as a figure over its users, so the sheet (and its published
    snapshot) names only the feeds that may be named.
    """
    reach = data_reach(session)
    return {feed: (float(reach[feed].toordinal()), frozenset(people))
            for feed, people in sorted(_users(session, person_ids, start, end).items()) if feed in reach}


def _users(session: Session, person_ids: Sequence[int], start: date, end: date) -> dict[str, set[int]]:
    u, o, i = table(Usage).c, table(Outcome).c, table(Identity).c
    ids = list(person_ids)
    if not ids:
        return {}
    usage = (select(u.tool, i.person_id).join_from(table(Usage), table(Identity), u.identity_id == i.id)
             .where(i.person_id.in_(ids), u.day >= start, u.day < end).distinct())
    since, until = (datetime.combine(d, time.min, tzinfo=UTC) for d in (start, end))
    outcomes = (select(o.source, i.person_id).join_from(table(Outcome), table(Identity), o.identity_id == i.id)
                .where(i.person_id.in_(ids), o.occurred_at >= since, o.occurred_at < until).distinct())
    found: dict[str, set[int]] = defaultdict(set)
    for tool, person in session.execute(usage):
        found[f"tool:{tool}"].add(person)
    for source, person in session.execute(outcomes):
        found[f"outcomes:{source}"].add(person)
    return found


def first_data_day(session: Session) -> date | None:
    """The org's first usage day: weeks that end before it had no data to show."""
    day: date | None = session.execute(select(func.min(table(Usage).c.day))).scalar()
    return day
