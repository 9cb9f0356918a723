"""Event-grain usage folded into rollups, each event counted once through the dedup ledger.

Invariant: a usage event adds its figures to its rollup row (source, identity, UTC day, provider, tool,
model, billing, work_ref, and whether the feed gave a cost) in the same transaction that puts the 16-byte
hash of its (source, natural key) in the ledger; an event whose hash the ledger already holds adds nothing.
So a rollup is always the sum of exactly the events in the ledger (or purged from it), whatever order,
overlap or repetition the files and pulls arrived in.

On PostgreSQL, an ingest of events takes a transaction-level advisory lock before its first write: two such
ingests at once parse side by side but write one after the other (the second waits for the first to commit),
so they cannot deadlock on identities or rollup rows both touch, and no event is counted twice. On SQLite the
same point takes the database's one write lock, so the ledger is never read by two ingests at once either.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from storage import ledger
from storage.dialect import dialect_name, driver, insert
from storage.models import IngestedFile, table

SUMS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
        "requests")
DIMENSIONS = ("source", "identity_id", "day", "provider", "tool", "model", "billing", "work_ref")
COLUMNS = (*DIMENSIONS, "record_key", *SUMS, "cost_usd")  # a rollup row, as add_rows takes it
FOLD_LOCK = 0x746F6B656E  # pg_advisory_xact_lock key: one folding transaction at a time
ROLLUP_PREFIX = "r:"  # a rollup's record_key; no vendor key starts so (they are request ids, days)


def event_key(source: str, key: str) -> bytes:
    """The ledger's compact hash of an event's natural key: MD5's 16 bytes, which a columnar engine computes too
    (no one gains by colliding two of their own events: the second would only go uncounted)."""
    return hashlib.md5(f"{source}\x1f{key}".encode(), usedforsecurity=False).digest()


def rollup_key(values: dict[str, Any]) -> str:
    """A rollup row's record_key: `r:` and a 12-byte hash of its dimensions and whether the feed gave its cost
    (a known cost and one priced when read never share a sum). Short, because it is stored twice per rollup."""
    return key_of(values["identity_id"], values["day"], values["provider"], values["tool"], values["model"],
                  values.get("billing") or "", values.get("work_ref") or "", values.get("cost_usd") is not None)


def key_of(identity_id: int, day: date | str, provider: str, tool: str, model: str, billing: str, work_ref: str,
           cost_known: bool) -> str:
    """rollup_key from the values themselves (a day as a date or its ISO text): `r:` and the URL-safe base64 of the
    first 12 bytes of the MD5 of the values joined by \\x1f, which a columnar engine computes too."""
    dimensions = (f"{identity_id}\x1f{day}\x1f{provider}\x1f{tool}\x1f{model}\x1f{billing}\x1f{work_ref}\x1f"
                  f"{'c' if cost_known else 'p'}")
    digest = hashlib.md5(dimensions.encode(), usedforsecurity=False).digest()[:12]
    return ROLLUP_PREFIX + base64.urlsafe_b64encode(digest).decode()


@dataclass(frozen=True)
class Event:
    """One usage event: its ledger key and its figures (the Usage columns, identity_id resolved)."""

    key: bytes
    values: dict[str, Any]


def fold(session: Session, events: Sequence[Event]) -> set[bytes]:
    """Add the events the ledger does not hold to their rollups; returns the keys of those added."""
    if not events:
        return set()
    lock(session)
    days = np.array([event.values["day"].toordinal() for event in events], dtype=np.int64)
    held = ledger.remember(session, days, ledger.as_keys(event.key for event in events))
    added = [event for event, was_held in zip(events, held.tolist(), strict=True) if not was_held]
    add_to_rollups(session, (event.values for event in added))
    return {event.key for event in added}


DayKeys = tuple[np.ndarray[Any, Any], ledger.Keys]  # day ordinals and their keys, as storage.ledger takes them


def fold_keys(session: Session, chunks: Iterable[DayKeys]) -> set[bytes]:
    """Put every (day, key) in the ledger, a chunk at a time (chunks are disjoint: the first copy of each event);
    returns the keys it held before."""
    lock(session)
    held: set[bytes] = set()
    for days, keys in chunks:
        held.update(ledger.as_bytes(keys[ledger.remember(session, days, keys)]))
    return held


def lock(session: Session) -> None:
    """Fold one transaction at a time, held until commit: an advisory lock on PostgreSQL, the write lock on SQLite.
    Taken before an ingest of events reads the ledger or writes anything, identities included, so two such
    ingests never wait on each other."""
    if dialect_name(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FOLD_LOCK})
    else:  # a write that changes nothing takes SQLite's write lock now, before the ledger is read
        session.execute(text("DELETE FROM eventledger WHERE day = -1"))


def add_to_rollups(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Sum rows by rollup and add each sum to its stored rollup (created at zero when new)."""
    add_rows(session, summed(rows, iso_days=dialect_name(session) == "sqlite"))


def summed(rows: Iterable[dict[str, Any]], iso_days: bool) -> list[list[Any]]:
    """Rows (the Usage columns, identity_id resolved) summed per rollup, as add_rows takes them, in key order (the
    day as ISO text when `iso_days`, as SQLAlchemy stores a Date in SQLite)."""
    sums: dict[str, list[Any]] = {}
    for row in rows:
        key = rollup_key(row)
        total = sums.get(key)
        figures = [row.get(name) or 0 for name in SUMS]
        if total is None:
            dimensions = [row[name] for name in DIMENSIONS[:-1]]
            sums[key] = [*dimensions, row.get("work_ref") or "", key, *figures, row.get("cost_usd")]
            continue
        for index, figure in enumerate(figures, start=len(DIMENSIONS) + 1):
            total[index] += figure
        if total[-1] is not None:
            total[-1] += row["cost_usd"]
    ordered = [sums[key] for key in sorted(sums)]
    for values in ordered if iso_days else ():
        values[2] = str(values[2])
    return ordered


def add_rows(session: Session, rows: Sequence[Sequence[Any]]) -> None:
    """Add rollup rows (COLUMNS' order; no two with the same record_key; the day ISO text on SQLite) to theirs."""
    if dialect_name(session) == "sqlite":  # the driver directly: a rollup a row, and nothing for SQLAlchemy to add
        driver(session).executemany(_ADDING_SQLITE, rows)
        return
    with driver(session).cursor() as cursor:  # PostgreSQL: COPY to a staging table, then one upsert from it
        cursor.execute(_STAGING_POSTGRES)
        with cursor.copy(f"COPY adding ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)
        cursor.execute(_ADDING_POSTGRES)
        cursor.execute("TRUNCATE adding")


_STAGING_POSTGRES = (
    "CREATE TEMP TABLE IF NOT EXISTS adding (source text, identity_id integer, day date, provider text, tool text, "
    "model text, billing text, work_ref text, record_key text, "
    + ", ".join(f"{name} bigint" for name in SUMS) + ", cost_usd double precision) ON COMMIT DELETE ROWS"
)
_ADDING_POSTGRES = (
    f"INSERT INTO usage ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM adding "
    "ON CONFLICT (source, record_key) DO UPDATE SET "
    + ", ".join(f"{name} = usage.{name} + excluded.{name}" for name in (*SUMS, "cost_usd"))
)

_ADDING_SQLITE = (
    f"INSERT INTO usage ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (source, record_key) DO UPDATE SET "
    + ", ".join(f"{name} = {name} + excluded.{name}" for name in (*SUMS, "cost_usd"))
)


def file_digest(path: Path) -> bytes | None:
    """The SHA-256 of a file's bytes, or None when it cannot be read (the parser then says why)."""
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").digest()
    except OSError:
        return None


def file_seen(session: Session, digest: bytes) -> IngestedFile | None:
    """The earlier clean ingest of a file with these exact bytes, if one is remembered."""
    files = table(IngestedFile)
    row = session.execute(select(files).where(files.c.digest == digest)).mappings().first()
    return IngestedFile(**row) if row is not None else None


def remember_file(session: Session, seen: IngestedFile) -> None:
    files = table(IngestedFile)
    session.execute(insert(session, files).on_conflict_do_nothing(), [seen.model_dump()])


def purge_ledger(session: Session, kept_from: date) -> dict[str, int]:
    """Forget event keys of days before `kept_from`, and files ingested before it; keys and files removed."""
    files = table(IngestedFile)
    start = datetime.combine(kept_from, time.min, tzinfo=UTC)
    keys = ledger.purge(session, kept_from.toordinal())
    seen = session.execute(delete(files).where(files.c.ingested_at < start))
    return {"eventledger": keys, "ingestedfile": _count(seen)}


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
