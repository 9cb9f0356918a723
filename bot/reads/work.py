"""Reading what judging the work computes on: stored work details as WorkItems, counted usage as UsageDays.

Invariant: usage is counted once (bot.core.attribution.count_once) and priced by the one price table before it
is linked, so the dollars here are the digest's dollars; a usage record naming its work (`work_ref`) is linked
to it directly. A scope (the org, a team) never narrows the work items, only whose spend is linked, so a fix or
revert by someone outside a team still counts against that team's work. A PR's files (and the lines summed
over them) come from its `github_files` row, stored apart so that nothing without files erases them; the PR's
own line counts, where its feed gave them, win over the summed ones.
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
from bot.core.facts import UsageFact
from bot.core.judgement import Judgement, judge
from bot.core.judgement_facts import OutcomeSource, UsageDay, WorkItem
from bot.core.linking import usage_day
from bot.core.prices import PriceTable
from bot.core.weeks import to_utc
from bot.errors import UsageError
from bot.reads.queries import team_members
from storage.models import Identity, Person, Usage, WorkDetail, table

LEAD_DAYS = 14  # spend on work opened before the span still lands on it: read this far back
_SOURCES: dict[str, OutcomeSource] = {"github": "pr", "jira": "jira", "linear": "linear"}
FILES = "github_files"  # a PR's files: bot.ingest.feeds.github_pulls.FILES_SOURCE (the read side cannot import ingest)


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
    rows = [row._mapping for row in session.execute(query)]
    files = {row["key"]: row for row in rows if row["source"] == FILES}
    return [_item(row, files.get(row["key"])) for row in rows if row["source"] != FILES]


def _item(row: RowMapping, files: RowMapping | None) -> WorkItem:
    get = row.__getitem__
    reopened = tuple(datetime.fromisoformat(t) for t in json.loads(get("reopened_at")))
    lines = row if row["additions"] is not None or files is None else files
    return WorkItem(
        key=get("key"), source=_SOURCES.get(get("source"), "pr"), person_id=get("person_id"), ref=get("ref") or "",
        title=get("title") or "", labels=tuple(json.loads(get("labels"))), issue_type=get("issue_type"),
        additions=lines["additions"], deletions=lines["deletions"],
        files=tuple(json.loads((row if files is None else files)["files"])),
        repo=get("repo"), points=get("points"), opened_at=get("opened_at"), merged_at=get("merged_at"),
        closed_at=get("closed_at"), reopened_at=reopened,
        reverts=get("reverts"), fixes=tuple(json.loads(get("fixes"))), branch=get("branch"),
    )


def usage_days(
    session: Session, person_ids: Sequence[int], start: date, end: date, prices: PriceTable,
) -> list[UsageDay]:
    """These people's priced spend per model and day in [start, end), counted once; unpriced usage is left out.

    Each keeps the work its usage record named (`work_ref`: a ticket key, branch, PR or commit), which links it
    to that outcome directly.
    """
    named = _usage_with_refs(session, person_ids, start, end)
    refs = {id(fact): ref for fact, ref in named}  # count_once keeps the facts it is given, so identity maps back
    counted = count_once((fact for fact, _ in named), prices.canonical)
    days = (usage_day(fact, prices, refs[id(fact)] or None) for fact in counted)
    return [day for day in days if day is not None]


def _usage_with_refs(
    session: Session, person_ids: Sequence[int], start: date, end: date,
) -> list[tuple[UsageFact, str]]:
    """bot.reads.queries.usage_facts, each fact with the work its record named ("" for none)."""
    u, i = table(Usage).c, table(Identity).c
    query = (
        select(
            i.person_id, u.day, u.provider, u.tool, u.model, u.input_tokens, u.output_tokens,
            u.cache_read_tokens, u.cache_write_tokens, u.requests, u.cost_usd, u.source, u.billing,
            u.cache_write_1h_tokens, u.work_ref,
        )
        .join_from(table(Usage), table(Identity), u.identity_id == i.id)
        .where(i.person_id.in_(list(person_ids)), u.day >= start, u.day < end)
    )
    return [(UsageFact(*row[:-1]), row[-1] or "") for row in session.execute(query)]


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
