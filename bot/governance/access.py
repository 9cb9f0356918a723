"""The access log: every showing of team figures, appended, never rewritten.

A showing is recorded by the code that shows: the digest when it posts (a channel), `team` when a
manager asks (a person), admin views (a role). `privacy` reads it back for the people inside.
Invariant: nothing in tokenworth updates or deletes a row of it (not retention, not `forget`); and
what a person is told about it names channels and roles, never another person.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, literal, select
from sqlalchemy.orm import Session

from bot.core.privacy import decode, encode
from bot.core.weeks import to_utc
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


@dataclass(frozen=True)
class Exposure:
    """How often figures that included one person were shown on one surface to one audience."""

    surface: str
    audience: str  # a label: "channel #platform-leads on slack", "a manager of platform", "you", "the admin role"
    times: int
    first: datetime
    last: datetime


def showings_including(session: Session, person_id: int) -> list[dict[str, object]]:
    """The log rows whose members include this person, oldest first (a LIKE narrows, `decode` decides)."""
    members = literal(",") + ACCESS.c.members + literal(",")
    query = (
        select(ACCESS).where(ACCESS.c.members.is_not(None), members.like(f"%,{int(person_id)},%"))
        .order_by(ACCESS.c.at, ACCESS.c.id)
    )
    rows = [dict(row) for row in session.execute(query).mappings()]
    return [row for row in rows if person_id in decode(str(row["members"]))]


def exposures(
    rows: Iterable[Mapping[str, object]], asker: str, managers: Mapping[str, Collection[str]],
) -> tuple[Exposure, ...]:
    """Rows grouped by surface and audience label, most frequent first; `managers` maps team to manager emails."""
    groups: dict[tuple[str, str], list[datetime]] = {}
    for row in rows:
        key = (str(row["surface"]), audience_label(row, asker, managers))
        groups.setdefault(key, []).append(_aware(row["at"]))
    found = [Exposure(surface, label, len(times), min(times), max(times)) for (surface, label), times in groups.items()]
    return tuple(sorted(found, key=lambda e: (-e.times, e.surface, e.audience)))


def audience_label(row: Mapping[str, object], asker: str, managers: Mapping[str, Collection[str]]) -> str:
    """Who saw it, as a person may be told: a channel, a role, "you", or a manager role, never another name."""
    kind, audience, platform = row["audience_kind"], str(row["audience"]), row.get("platform")
    on = f" on {platform}" if platform else ""
    if kind == "channel":
        return f"channel {audience}{on}"
    if kind == "role":
        return f"the {audience} role{on}"
    if audience.strip().lower() == asker.strip().lower():
        return "you"
    team = row.get("team")
    lowered = {t: {m.lower() for m in emails} for t, emails in managers.items()}
    if isinstance(team, str) and audience.lower() in lowered.get(team, set()):
        return f"a manager of {team}{on}"
    if any(audience.lower() in emails for emails in lowered.values()):
        return f"a team manager{on}"
    return f"one person{on} (name withheld)"


def summary(rows: Iterable[Mapping[str, object]]) -> list[tuple[str, str, int]]:
    """(surface, audience kind, showings) for every pair in the log, most frequent first: no people, no figures."""
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (str(row["surface"]), str(row["audience_kind"]))
        counts[key] = counts.get(key, 0) + 1
    return sorted(((s, k, n) for (s, k), n in counts.items()), key=lambda x: (-x[2], x[0], x[1]))


def _aware(value: object) -> datetime:
    assert isinstance(value, datetime), "the log's `at` is a timestamp"
    return to_utc(value)
