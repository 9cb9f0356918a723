"""Exactly once per (team, week, platform): a claim row is inserted before posting; only its winner posts.

States: claimed (someone is posting), posted, pending (a retryable failure: retried later), failed
(gave up), skipped (no data). A claim never confirmed within STUCK_AFTER belongs to a process that
stopped mid-post: exactly one later caller takes it over (an UPDATE guarded by the old claim time) and
posts again, and the row says so, because the first attempt may have reached the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, select, update
from sqlalchemy.orm import Session

from bot.core.weeks import to_utc
from bot.errors import TokenworthError
from storage.dialect import insert
from storage.engine import session_scope
from storage.models import DigestPost, table


class PostError(TokenworthError):
    """Posting failed; `retryable` says whether a later attempt may succeed, `posted` what got out."""

    def __init__(self, message: str, retryable: bool = True, posted: Posted | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.posted = posted


@dataclass(frozen=True)
class Posted:
    channel: str
    message_id: str
    permalink: str | None


RETRYABLE = ("pending",)
INTERRUPTED = "an earlier attempt stopped mid-post"
STUCK_AFTER = timedelta(minutes=10)
MAX_ATTEMPTS = 8
TABLE = table(DigestPost)


def claim(engine: Engine, team: str, week: str, platform: str, force: bool = False,
          now: datetime | None = None) -> bool:
    """True when this caller won the right to post; concurrent callers get False."""
    now = now or datetime.now(UTC)
    row = {"team": team, "week": week, "platform": platform, "state": "claimed", "claimed_at": now, "attempts": 1}
    with session_scope(engine) as session:
        inserted = session.execute(insert(engine, TABLE).values(**row).on_conflict_do_nothing())
        if inserted.rowcount == 1:  # type: ignore[attr-defined]
            return True
        states = ("pending", "posted", "failed", "claimed", "skipped") if force else RETRYABLE
        taken = session.execute(
            update(TABLE)
            .where(_key(team, week, platform), TABLE.c.state.in_(states))
            .values(state="claimed", claimed_at=now, attempts=TABLE.c.attempts + 1, error=None)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return True
        return _take_over_stale(session, team, week, platform, now)


def _take_over_stale(session: Session, team: str, week: str, platform: str, now: datetime) -> bool:
    """Take over a claim whose process stopped mid-post; the note stays on the row for `digest status`."""
    stale = session.execute(
        select(TABLE.c.claimed_at).where(_key(team, week, platform), TABLE.c.state == "claimed")
    ).scalar_one_or_none()
    if stale is None or now - to_utc(stale) <= STUCK_AFTER:
        return False
    note = (f"{INTERRUPTED} (claimed {to_utc(stale):%Y-%m-%d %H:%M} UTC, never confirmed): posted again; "
            "if both reached the channel, delete the older one")
    taken = session.execute(
        update(TABLE)
        .where(_key(team, week, platform), TABLE.c.state == "claimed", TABLE.c.claimed_at == stale)
        .values(claimed_at=now, attempts=TABLE.c.attempts + 1, error=note)
    )
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def record(engine: Engine, team: str, week: str, platform: str, state: str, **fields: Any) -> None:
    if state == "posted" and not fields.get("error"):
        fields.pop("error", None)  # a takeover's note stays for `digest status`; a fresh claim cleared it
    with session_scope(engine) as session:
        session.execute(update(TABLE).where(_key(team, week, platform)).values(state=state, **fields))


def record_skip(engine: Engine, team: str, week: str, platform: str, reason: str) -> None:
    """A week with nothing to post: remembered so that status shows it, never posted."""
    now = datetime.now(UTC)
    row = {"team": team, "week": week, "platform": platform, "state": "skipped", "claimed_at": now, "error": reason}
    with session_scope(engine) as session:
        session.execute(insert(engine, TABLE).values(**row).on_conflict_do_nothing())


def record_failure(engine: Engine, team: str, week: str, platform: str, error: str) -> str:
    """A failed attempt stays pending (retried later) until it has been tried MAX_ATTEMPTS times."""
    with session_scope(engine) as session:
        attempts = session.execute(select(TABLE.c.attempts).where(_key(team, week, platform))).scalar_one()
        state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        session.execute(update(TABLE).where(_key(team, week, platform)).values(state=state, error=error))
    return state


def pending(engine: Engine, platform: str, now: datetime | None = None) -> list[tuple[str, str]]:
    """What the retry job sends again: pending digests, and claims left behind by a stopped process."""
    stuck_before = (now or datetime.now(UTC)) - STUCK_AFTER
    with session_scope(engine) as session:
        rows = session.execute(
            select(TABLE.c.team, TABLE.c.week, TABLE.c.state, TABLE.c.claimed_at).where(
                TABLE.c.platform == platform, TABLE.c.state.in_(("pending", "claimed"))
            )
        )
        return [(team, week) for team, week, state, claimed_at in rows
                if state == "pending" or to_utc(claimed_at) < stuck_before]


def has_row(engine: Engine, team: str, week: str, platform: str) -> bool:
    """Whether this digest left any trace: claimed, posted, pending, failed or skipped."""
    with session_scope(engine) as session:
        return session.execute(select(TABLE.c.id).where(_key(team, week, platform))).first() is not None


def statuses(engine: Engine, limit_per_team: int = 4) -> list[dict[str, Any]]:
    """The latest digests per team and platform, with a plain word for what needs attention."""
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        rows = session.execute(select(TABLE).order_by(TABLE.c.team, TABLE.c.platform, TABLE.c.week.desc())).mappings()
        result: list[dict[str, Any]] = []
        seen: dict[tuple[str, str], int] = {}
        for row in rows:
            key = (row["team"], row["platform"])
            seen[key] = seen.get(key, 0) + 1
            if seen[key] <= limit_per_team:
                result.append({**row, "attention": _attention(dict(row), now)})
    return result


def _attention(row: dict[str, Any], now: datetime) -> str | None:
    claimed_at = to_utc(row["claimed_at"]) if row["claimed_at"] is not None else None
    if row["state"] == "claimed" and claimed_at is not None and now - claimed_at > STUCK_AFTER:
        return ("claimed but never confirmed as posted (the process stopped mid-post?): the next retry "
                "(every 15 minutes in `serve`, or `tokenworth digest send`) posts it again")
    if row["state"] in ("pending", "failed"):
        return row["error"] or "not posted yet"
    if row["error"] and INTERRUPTED in row["error"]:
        return str(row["error"])
    return None


def _key(team: str, week: str, platform: str) -> Any:
    return and_(TABLE.c.team == team, TABLE.c.week == week, TABLE.c.platform == platform)


def shown_groups(engine: Engine, team: str, week: str) -> list[frozenset[int]]:
    """The memberships whose figures were already posted for this team and week, on any platform."""
    from bot.core.privacy import decode

    with session_scope(engine) as session:
        rows = session.execute(
            select(TABLE.c.members).where(TABLE.c.team == team, TABLE.c.week == week, TABLE.c.members.is_not(None))
        )
        return [decode(group) for (members,) in rows for group in members.split(";")]


def remember_shown(engine: Engine, team: str, week: str, platform: str, members: str) -> None:
    """Add a group whose figures went out; every group ever shown for the week is kept."""
    with session_scope(engine) as session:
        before = session.execute(select(TABLE.c.members).where(_key(team, week, platform))).scalar_one_or_none()
        groups = [g for g in (before or "").split(";") if g]
        if members not in groups:
            joined = ";".join([*groups, members])
            session.execute(update(TABLE).where(_key(team, week, platform)).values(members=joined))
