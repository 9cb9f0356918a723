"""Reading what judging the work computes on: stored work details as WorkItems, counted usage as UsageDays.

Invariant: usage is counted once (bot.core.attribution.count_once) and priced by the one price table before it
is linked, so the dollars here are the digest's dollars; a scope (the org, a team) never narrows the work items,
only whose spend is linked, so a fix or revert by someone outside a team still counts against that team's work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import RowMapping, select
from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.attribution import count_once
from bot.core.judgement import Judgement, judge
from bot.core.judgement_facts import OutcomeSource, UsageDay, WorkItem
from bot.core.linking import usage_day
from bot.core.prices import PriceTable
from bot.core.weeks import to_utc
from bot.errors import UsageError
from bot.reads.queries import team_members, usage_facts
from storage.models import Identity, Person, WorkDetail, table

LEAD_DAYS = 14  # spend on work opened before the span still lands on it: read this far back
_SOURCES: dict[str, OutcomeSource] = {"github": "pr", "jira": "jira", "linear": "linear"}


@dataclass(frozen=True)
class Scope:
    """Whose spend is judged: the org's people, or one team's; `people` is how many."""

    name: str
    person_ids: tuple[int, ...]

    @property
    def people(self) -> int:
        return len(self.person_ids)


def end_of(day: datetime | None) -> datetime:
    """The moment a span judged "to `day`" ends: the last microsecond of that UTC day, or now without one."""
    if day is None:
        return datetime.now(UTC)
    return datetime.combine(day.date() + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(microseconds=1)


def scope(session: Session, team: str | None = None) -> Scope:
    """The org (every person), or one team's members; a team nobody is in is an error, not an empty table."""
    if team is not None:
        if not team_members(session, team):
            raise UsageError(f"unknown team {team!r} (or a team with no people)")
        return Scope(f"team {team}", tuple(p.id for p in team_members(session, team) if p.id is not None))
    ids = session.execute(select(table(Person).c.id).order_by(table(Person).c.id)).scalars()
    return Scope("the org", tuple(int(i) for i in ids))


def work_items(session: Session, start: datetime, end: datetime) -> list[WorkItem]:
    """Every stored merged PR, revert and done ticket finished in [start, end), with its person (or None)."""
    w, i = table(WorkDetail).c, table(Identity).c
    query = (
        select(table(WorkDetail), i.person_id)
        .join_from(table(WorkDetail), table(Identity), w.identity_id == i.id)
        .where(w.finished_at >= start, w.finished_at < end)
        .order_by(w.source, w.key)
    )
    return [_item(row._mapping) for row in session.execute(query)]


def _item(row: RowMapping) -> WorkItem:
    get = row.__getitem__
    reopened = tuple(datetime.fromisoformat(t) for t in json.loads(get("reopened_at")))
    return WorkItem(
        key=get("key"), source=_SOURCES.get(get("source"), "pr"), person_id=get("person_id"), ref=get("ref") or "",
        title=get("title") or "", labels=tuple(json.loads(get("labels"))), issue_type=get("issue_type"),
        additions=get("additions"), deletions=get("deletions"), files=tuple(json.loads(get("files"))),
        repo=get("repo"), points=get("points"), opened_at=get("opened_at"), merged_at=get("merged_at"),
        closed_at=get("closed_at"), reopened_at=reopened,
        reverts=get("reverts"), fixes=tuple(json.loads(get("fixes"))), branch=get("branch"),
    )


def usage_days(
    session: Session, person_ids: Sequence[int], start: date, end: date, prices: PriceTable,
) -> list[UsageDay]:
    """These people's priced spend per model and day in [start, end), counted once; unpriced usage is left out."""
    facts = count_once(usage_facts(session, person_ids, start, end), prices.canonical)
    return [day for day in (usage_day(fact, prices) for fact in facts) if day is not None]


def judge_span(
    session: Session, config: OrgConfig, prices: PriceTable, who: Scope, weeks: int, as_of: datetime,
) -> Judgement:
    """The last `weeks` weeks up to `as_of` judged: the org's work, `who`'s spend (read LEAD_DAYS earlier)."""
    as_of = to_utc(as_of)
    since = as_of.date() - timedelta(days=7 * weeks - 1)
    lead = since - timedelta(days=LEAD_DAYS)
    start = datetime.combine(lead, time.min, tzinfo=UTC)
    items = work_items(session, start, as_of + timedelta(microseconds=1))
    usage = usage_days(session, who.person_ids, lead, as_of.date() + timedelta(days=1), prices)
    return judge(items, usage, config, since, as_of)
