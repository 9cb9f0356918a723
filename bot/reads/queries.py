"""Read queries. They return plain facts; the metrics over them are pure functions in bot.core.metrics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import func, literal, select, union_all
from sqlmodel import Session, col
from sqlmodel import select as select_model

from bot.core.attribution import USAGE_REPORT, unattributed
from bot.core.facts import ActivityFact, OutcomeFact, SeatFact, UsageFact
from bot.core.weeks import to_utc
from storage.models import (
    Activity,
    Billed,
    DigestPost,
    Identity,
    IngestRun,
    Outcome,
    Person,
    PullRun,
    RejectedRecord,
    Seat,
    Usage,
    WebhookDelivery,
    table,
)


def person_by_email(session: Session, email: str) -> Person | None:
    return session.exec(select_model(Person).where(col(Person.email) == email.strip().lower())).first()


def team_members(session: Session, team: str) -> list[Person]:
    query = select_model(Person).where(col(Person.team) == team).order_by(col(Person.email))
    return list(session.exec(query).all())


def usage_facts(session: Session, person_ids: Sequence[int], start: date, end: date) -> list[UsageFact]:
    """Usage attributed to these people on days in [start, end)."""
    u, i = table(Usage).c, table(Identity).c
    query = (
        select(
            i.person_id, u.day, u.provider, u.tool, u.model, u.input_tokens, u.output_tokens,
            u.cache_read_tokens, u.cache_write_tokens, u.requests, u.cost_usd, u.source, u.billing,
            u.cache_write_1h_tokens,
        )
        .join_from(table(Usage), table(Identity), u.identity_id == i.id)
        .where(i.person_id.in_(list(person_ids)), u.day >= start, u.day < end)
    )
    return [UsageFact(*row) for row in session.execute(query)]


def outcome_facts(session: Session, person_ids: Sequence[int], weeks: Sequence[str]) -> list[OutcomeFact]:
    """Outcomes credited to these people in these weeks.

    A merged revert is charged as `pr_reverted` to the author of the merge it points at (in the
    week the revert merged); a revert whose target is no stored merge charges nobody.
    """
    i = table(Identity).c
    outcome = table(Outcome)
    o = outcome.c
    direct = (
        select(i.person_id, o.week, o.kind, o.quantity)
        .join_from(outcome, table(Identity), o.identity_id == i.id)
        .where(i.person_id.in_(list(person_ids)), o.week.in_(list(weeks)), o.kind != "pr_revert")
    )
    revert, target = outcome.alias("revert"), outcome.alias("target")
    charges = (
        select(i.person_id, revert.c.week, literal("pr_reverted"), literal(1.0))
        .join_from(revert, target, (target.c.key == revert.c.ref) & (target.c.kind == "pr_merged"))
        .join(table(Identity), target.c.identity_id == i.id)
        .where(revert.c.kind == "pr_revert", i.person_id.in_(list(person_ids)), revert.c.week.in_(list(weeks)))
    )
    return [OutcomeFact(*row) for row in session.execute(union_all(direct, charges))]


def last_ingest_per_source(session: Session) -> dict[str, datetime]:
    r = table(IngestRun).c
    query = select(r.source, func.max(r.finished_at)).where(r.source.is_not(None)).group_by(r.source)
    return {source: finished for source, finished in session.execute(query)}


def latest_usage_day(session: Session) -> date | None:
    return session.execute(select(func.max(table(Usage).c.day))).scalar()


def recent_rejections(session: Session, limit: int) -> list[tuple[datetime, str, str]]:
    r, run = table(RejectedRecord).c, table(IngestRun).c
    query = (
        select(run.started_at, r.location, r.reason)
        .join_from(table(RejectedRecord), table(IngestRun), r.run_id == run.id)
        .order_by(r.id.desc())
        .limit(limit)
    )
    return [(when, location, reason) for when, location, reason in session.execute(query)]


def activity_facts(session: Session, person_ids: Sequence[int], start: date, end: date) -> list[ActivityFact]:
    a, i = table(Activity).c, table(Identity).c
    query = (
        select(i.person_id, a.day, a.source, a.metric, a.value)
        .join_from(table(Activity), table(Identity), a.identity_id == i.id)
        .where(i.person_id.in_(list(person_ids)), a.day >= start, a.day < end)
    )
    return [ActivityFact(*row) for row in session.execute(query)]


def seat_facts(session: Session, person_ids: Sequence[int], start: date, end: date) -> list[SeatFact]:
    s, i = table(Seat).c, table(Identity).c
    query = (
        select(i.person_id, s.day, s.plan, s.monthly_cost_usd, s.last_activity_at)
        .join_from(table(Seat), table(Identity), s.identity_id == i.id)
        .where(i.person_id.in_(list(person_ids)), s.day >= start, s.day < end)
    )
    return [SeatFact(*row) for row in session.execute(query)]


def unattributed_usage(session: Session, start: date, end: date) -> list[tuple[UsageFact, str, str]]:
    """Usage on identities nobody claims, with the identity's kind and value."""
    u, i = table(Usage).c, table(Identity).c
    query = (
        select(
            i.person_id, u.day, u.provider, u.tool, u.model, u.input_tokens, u.output_tokens,
            u.cache_read_tokens, u.cache_write_tokens, u.requests, u.cost_usd, u.source, u.billing,
            u.cache_write_1h_tokens, i.kind, i.value,
        )
        .join_from(table(Usage), table(Identity), u.identity_id == i.id)
        .where(i.person_id.is_(None), u.day >= start, u.day < end)
    )
    return [(UsageFact(*row[:14]), row[14], row[15]) for row in session.execute(query)]


def unattributed_facts(
    session: Session, gateways: Iterable[str], start: date, end: date,
) -> list[tuple[UsageFact, str, str]]:
    """The one reading of "unattributed": usage nobody claims on days in [start, end), counted once.

    The digest, `reconcile` and `identities --unmapped` all read it here, so their dollars agree.
    """
    return unattributed(
        unattributed_usage(session, start, end), gateways,
        days_with_usage(session, USAGE_REPORT, start, end), days_with_usage(session, "litellm", start, end),
    )


def days_with_usage(session: Session, source: str, start: date, end: date) -> set[date]:
    u = table(Usage).c
    query = select(u.day).where(u.source == source, u.day >= start, u.day < end).distinct()
    return {day for (day,) in session.execute(query)}


def billed_total(session: Session, start: date, end: date) -> dict[str, float]:
    b = table(Billed).c
    query = select(b.source, func.sum(b.amount_usd)).where(b.day >= start, b.day < end).group_by(b.source)
    return {source: float(total) for source, total in session.execute(query)}


def sources_for_person(session: Session, person_id: int) -> list[str]:
    """The feeds that hold any usage, activity or outcome of this person."""
    i = table(Identity).c
    found: set[str] = set()
    for model in (Usage, Activity, Outcome):
        t = table(model)
        query = (
            select(t.c.source).join(table(Identity), t.c.identity_id == i.id)
            .where(i.person_id == person_id).distinct()
        )
        found.update(source for (source,) in session.execute(query))
    return sorted(found)


def identity_listing(session: Session) -> list[tuple[str, str, str | None, str | None]]:
    """(kind, value, person email or None, linked_via) for every identity, people first."""
    i, p = table(Identity).c, table(Person).c
    query = (
        select(i.kind, i.value, p.email, i.linked_via)
        .join_from(table(Identity), table(Person), i.person_id == p.id, isouter=True)
        .order_by(p.email.is_(None), p.email, i.kind, i.value)
    )
    return [tuple(row) for row in session.execute(query)]


def billed_by_provider(session: Session, start: date, end: date) -> dict[tuple[str, str], float]:
    """Billed money per (provider, ledger source) on days in [start, end)."""
    b = table(Billed).c
    query = (
        select(b.provider, b.source, func.sum(b.amount_usd))
        .where(b.day >= start, b.day < end).group_by(b.provider, b.source)
    )
    return {(provider, source): float(total) for provider, source, total in session.execute(query)}


def latest_rejections(session: Session, limit: int) -> list[tuple[str, datetime, str, str]]:
    """(path, when, location, reason) of the rejections of each file's latest ingest only, newest file first.

    A file ingested again replaces its earlier runs' rejections: what was fixed since is not shown again.
    """
    r, run = table(RejectedRecord).c, table(IngestRun).c
    latest = select(func.max(run.id)).group_by(run.path).scalar_subquery()
    query = (
        select(run.path, run.started_at, r.location, r.reason)
        .join_from(table(RejectedRecord), table(IngestRun), r.run_id == run.id)
        .where(run.id.in_(latest))
        .order_by(run.id.desc(), r.id)
        .limit(limit)
    )
    return [(path, when, location, reason) for path, when, location, reason in session.execute(query)]


def latest_runs_with_rejections(session: Session) -> list[tuple[str, str | None, int]]:
    """(path, source, rejected) for every file whose latest ingest rejected something (an unusable file counts 1)."""
    run = table(IngestRun).c
    latest = select(func.max(run.id)).group_by(run.path).scalar_subquery()
    query = select(run.path, run.source, run.rejected).where(run.id.in_(latest), run.rejected > 0).order_by(run.path)
    return [(path, source, rejected) for path, source, rejected in session.execute(query)]


def latest_data_day_per_source(session: Session) -> dict[str, date]:
    """How far each feed's data reaches: the latest UTC day it holds a row for (not when it was ingested)."""
    reach: dict[str, date] = {}
    for model in (Usage, Activity, Billed, Seat):
        t = table(model).c
        for source, day in session.execute(select(t.source, func.max(t.day)).group_by(t.source)):
            reach[source] = max(day, reach.get(source, day))
    o = table(Outcome).c
    for source, when in session.execute(select(o.source, func.max(o.occurred_at)).group_by(o.source)):
        reach[source] = max(when.date(), reach.get(source, when.date()))
    return reach


def last_data_arrival(session: Session) -> datetime | None:
    """When data last arrived by any path: a file ingest, a successful pull, a webhook delivery."""
    run, pull, hook = table(IngestRun).c, table(PullRun).c, table(WebhookDelivery).c
    times = [
        session.execute(select(func.max(run.finished_at))).scalar(),
        session.execute(select(func.max(pull.finished_at)).where(pull.status == "ok")).scalar(),
        session.execute(select(func.max(hook.received_at))).scalar(),
    ]
    known = [to_utc(t) for t in times if t is not None]
    return max(known) if known else None


def digests_waiting(session: Session) -> int:
    """Digests claimed or pending: not posted yet, and to be retried."""
    d = table(DigestPost).c
    return int(session.execute(select(func.count()).where(d.state.in_(("pending", "claimed")))).scalar() or 0)
