"""The access log: every showing of team figures, appended, never rewritten.

A showing is recorded by the code that shows: the digest when it posts (a channel), `team` when a
manager asks (a person), admin views (a role). `privacy` reads it back for the people inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from bot.core.privacy import encode
from storage.engine import session_scope
from storage.models import AccessLog, table

ACCESS = table(AccessLog)


@dataclass(frozen=True)
class Showing:
    surface: str  # digest, team, preview, admin_digest, export, audit, ...
    audience_kind: str  # channel, person, role
    audience: str
    platform: str | None = None
    team: str | None = None
    week: str | None = None
    members: frozenset[int] = frozenset()
    detail: str | None = None


def record_showing(bind: Engine | Session, showing: Showing, now: datetime | None = None) -> None:
    """Append one showing; in its own transaction when given an engine, else in the caller's."""
    row = {
        "at": now or datetime.now(UTC), "surface": showing.surface, "audience_kind": showing.audience_kind,
        "audience": showing.audience, "platform": showing.platform, "team": showing.team, "week": showing.week,
        "members": encode(showing.members) if showing.members else None, "detail": showing.detail,
    }
    if isinstance(bind, Session):
        bind.execute(insert(ACCESS).values(**row))
        return
    with session_scope(bind) as session:
        session.execute(insert(ACCESS).values(**row))


def showings(session: Session, since: datetime | None = None) -> list[dict[str, object]]:
    """The log, oldest first (for `audit`)."""
    query = select(ACCESS).order_by(ACCESS.c.at, ACCESS.c.id)
    if since is not None:
        query = query.where(ACCESS.c.at >= since)
    return [dict(row) for row in session.execute(query).mappings()]
