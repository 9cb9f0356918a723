"""Published snapshots: a team-week's figures as first shown to anyone but the people in them.

Invariant: a team-week is published once and never rewritten. The first insert wins; a concurrent
publisher (the other platform, a `team` command) reads the winner back and shows that, so every showing
of a team-week (re-sends, `team`, later digests' history and deltas) shows the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.core.disclosure import Sheet
from bot.core.privacy import decode, encode
from bot.core.weeks import to_utc
from storage.dialect import insert
from storage.engine import session_scope
from storage.models import PublishedSnapshot, table

TABLE = table(PublishedSnapshot)


@dataclass(frozen=True)
class Published:
    team: str
    week: str
    published_at: datetime
    members: frozenset[int]  # who the figures cover (never shown)
    sheet: Sheet


def published(session: Session, team: str, weeks: Iterable[object]) -> dict[str, Published]:
    """The snapshots of these weeks (any objects whose str() is a week) that were published, by week."""
    names = [str(week) for week in weeks]
    rows = session.execute(select(TABLE).where(TABLE.c.team == team, TABLE.c.week.in_(names))).mappings()
    return {row["week"]: _published(row) for row in rows}


def publish(engine: Engine, team: str, week: str, members: frozenset[int], sheet: Sheet,
            now: datetime | None = None) -> Published:
    """Publish this team-week unless it already is; either way, the snapshot that stands."""
    row = {"team": team, "week": week, "published_at": now or datetime.now(UTC), "members": encode(members),
           "figures": json.dumps(sheet.as_json(), sort_keys=True)}
    with session_scope(engine) as session:
        session.execute(insert(engine, TABLE).values(**row).on_conflict_do_nothing())
        stored = session.execute(select(TABLE).where(TABLE.c.team == team, TABLE.c.week == week)).mappings().one()
        return _published(stored)


def _published(row: Any) -> Published:
    when: datetime = row["published_at"]
    return Published(
        row["team"], row["week"], to_utc(when), decode(row["members"]),
        Sheet.from_json(json.loads(row["figures"])),
    )
