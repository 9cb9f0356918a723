"""`tokenworth audit`: the access log as admins read it, row by row.

Invariant: only the log itself (when, which surface, to whom, which team and week, how many people
the figures covered); never member ids, never a figure, never an order of people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time

from sqlalchemy import Engine

from bot.core.privacy import decode
from bot.core.weeks import to_utc
from bot.governance.access import showings, summary
from storage.engine import session_scope


def audit_rows(engine: Engine, since: date | None = None) -> list[dict[str, object]]:
    """The log from the start of `since` (UTC), oldest first, each row as it may be shown to an admin."""
    start = datetime.combine(since, time.min, tzinfo=UTC) if since else None
    with session_scope(engine) as session:
        return [shown(row) for row in showings(session, start)]


def shown(row: Mapping[str, object]) -> dict[str, object]:
    """One log row without its member ids: they become a head count."""
    at = row["at"]
    assert isinstance(at, datetime), "the log's `at` is a timestamp"
    members = row.get("members")
    return {
        "id": row["id"], "at": to_utc(at).isoformat(),
        "surface": row["surface"], "audience_kind": row["audience_kind"], "audience": row["audience"],
        "platform": row.get("platform"), "team": row.get("team"), "week": row.get("week"),
        "people": len(decode(members if isinstance(members, str) else None)), "detail": row.get("detail"),
    }


def audit_json(rows: Sequence[Mapping[str, object]]) -> dict[str, object]:
    counts = [{"surface": s, "audience_kind": k, "showings": n} for s, k, n in summary(rows)]
    return {"showings": list(rows), "summary": counts}


def audit_lines(rows: Sequence[Mapping[str, object]]) -> list[str]:
    if not rows:
        return ["The access log is empty: no team figures have been shown yet."]
    lines = [_line(row) for row in rows]
    lines.append(f"{len(rows)} showings: " + ", ".join(f"{n} {s} to {k}" for s, k, n in summary(rows)))
    return lines


def _line(row: Mapping[str, object]) -> str:
    at = str(row["at"])[:16].replace("T", " ")
    where = f" ({row['platform']})" if row.get("platform") else ""
    what = " ".join(str(row[k]) for k in ("team", "week") if row.get(k)) or "-"
    detail = f"  {row['detail']}" if row.get("detail") else ""
    return (f"{at} UTC  {row['surface']:<12} {row['audience_kind']} {row['audience']}{where}  {what}  "
            f"{row['people']} people{detail}")
