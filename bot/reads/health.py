"""What `/healthz` says about the data: does the database answer, how old is the newest data, what waits to be posted.

Invariant: it only reads, in one short transaction, and never raises: a database that does not answer
(or is at another schema) is reported as `{"ok": false, "error": ...}` for the caller to answer 503.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import TokenworthError
from bot.reads.queries import digests_waiting, last_data_arrival
from storage.engine import session_scope


def database_health(engine: Callable[[], Engine], now: datetime | None = None) -> dict[str, Any]:
    """{"ok", "ingest": {"last_at", "age_hours"}, "digests_pending"}, or {"ok": false, "error"}."""
    try:
        with session_scope(engine()) as session:
            session.execute(text("SELECT 1"))
            arrived = last_data_arrival(session)
            waiting = digests_waiting(session)
    except (SQLAlchemyError, TokenworthError) as exc:
        return {"ok": False, "error": f"the database does not answer ({type(exc).__name__})"}
    now = now or datetime.now(UTC)
    age = None if arrived is None else round((now - arrived).total_seconds() / 3600, 1)
    return {"ok": True, "ingest": {"last_at": arrived.isoformat() if arrived else None, "age_hours": age},
            "digests_pending": waiting}
