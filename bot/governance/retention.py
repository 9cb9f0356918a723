"""Retention: per-person rows older than `retention.days` are deleted, daily by `serve` and on demand.

Invariant: only rows about people's days go (usage, activity, outcomes and their work details, seats,
the rejected records that may quote them, and feed identities left with no rows and no person), each by the day it
describes; aggregates (published snapshots, the vendors' billed ledger) and the access log stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine, delete, exists, select
from sqlalchemy.orm import Session

from bot.config.org import DEFAULT_DEDUP_DAYS
from storage.engine import session_scope
from storage.models import (
    Activity,
    ChartImage,
    Identity,
    IngestRun,
    Outcome,
    RejectedRecord,
    Seat,
    Usage,
    WorkDetail,
    table,
)
from storage.rollups import purge_ledger

USAGE, ACTIVITY, OUTCOME, SEAT = table(Usage), table(Activity), table(Outcome), table(Seat)
IDENTITY, REJECTED, RUNS, CHARTS = table(Identity), table(RejectedRecord), table(IngestRun), table(ChartImage)
WORK = table(WorkDetail)
PER_PERSON = (USAGE, ACTIVITY, OUTCOME, SEAT, WORK)  # every table whose rows hang off a feed identity
PURGED = ("usage", "activity", "outcome", "seat", "workdetail", "rejectedrecord", "chartimage", "identity")


@dataclass(frozen=True)
class Purge:
    """What one purge removed: rows per table, and the first day it kept."""

    kept_from: date
    removed: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.removed.values())

    def lines(self, days: int) -> list[str]:
        head = f"Retention {days} days: removed rows describing days before {self.kept_from}"
        if not self.total:
            return [f"{head}: none found."]
        return [f"{head}:", *(f"  {name}: {rows}" for name, rows in self.removed.items())]

    def as_json(self) -> dict[str, object]:
        return {"kept_from": self.kept_from.isoformat(), "removed": self.removed, "total": self.total}


def first_kept_day(now: datetime, days: int) -> date:
    """The oldest day a purge at `now` keeps: `days` days back from today (UTC)."""
    return now.astimezone(UTC).date() - timedelta(days=days)


def purge(engine: Engine, days: int, now: datetime | None = None, dedup_days: int = DEFAULT_DEDUP_DAYS) -> Purge:
    """Delete every per-person row older than `days`; rows per table, in one transaction (identities after).

    The dedup ledger's event keys and remembered files go after `dedup_days` (`ingest.dedup_days`) instead.
    """
    now = now or datetime.now(UTC)
    kept_from = first_kept_day(now, days)
    with session_scope(engine) as session:
        removed = _purge_rows(session, kept_from, now)
        removed.update(purge_ledger(session, first_kept_day(now, dedup_days)))
    # Orphaned identities go in their own transaction: a concurrent ingest reusing one only fails this part.
    with session_scope(engine) as session:
        removed["identity"] = _purge_orphan_identities(session)
    return Purge(kept_from, removed)


def _purge_rows(session: Session, kept_from: date, now: datetime) -> dict[str, int]:
    start = datetime.combine(kept_from, time.min, tzinfo=UTC)
    old_runs = select(RUNS.c.id).where(RUNS.c.started_at < start)
    statements = {
        "usage": delete(USAGE).where(USAGE.c.day < kept_from),
        "activity": delete(ACTIVITY).where(ACTIVITY.c.day < kept_from),
        "outcome": delete(OUTCOME).where(OUTCOME.c.occurred_at < start),
        "seat": delete(SEAT).where(SEAT.c.day < kept_from),
        "workdetail": delete(WORK).where(WORK.c.finished_at < start),
        "rejectedrecord": delete(REJECTED).where(REJECTED.c.run_id.in_(old_runs)),
        "chartimage": delete(CHARTS).where(CHARTS.c.expires_at <= now),
    }
    return {name: rowcount(session.execute(statement)) for name, statement in statements.items()}


def _purge_orphan_identities(session: Session) -> int:
    """Identities nobody claims that no row uses any more: an unknown email or key id is personal data too."""
    used = [exists().where(t.c.identity_id == IDENTITY.c.id) for t in PER_PERSON]
    orphans = delete(IDENTITY).where(IDENTITY.c.person_id.is_(None), *(~u for u in used))
    return rowcount(session.execute(orphans))


def rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
