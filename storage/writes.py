"""Idempotent writes: identities get-or-create, rows upserted by natural key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from datetime import date, datetime, timezone

from sqlalchemy import Table, delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import Activity, Billed, Identity, Usage

CHUNK = 500


@dataclass
class Upserted:
    stored: set[tuple[Any, ...]] = field(default_factory=set)  # keys of new and restated rows
    duplicates: int = 0  # rows already stored with the same figures


def insert_ignoring_conflicts(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))


def identity_ids(session: Session, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids for (kind, value) pairs, creating unattributed identities for the unknown ones."""
    wanted = sorted(set(refs))
    table = Identity.__table__  # type: ignore[attr-defined]
    insert_ignoring_conflicts(session, table, [{"kind": k, "value": v} for k, v in wanted])
    found: dict[tuple[str, str], int] = {}
    for chunk in _chunks(wanted):
        query = select(table.c.kind, table.c.value, table.c.id).where(tuple_(table.c.kind, table.c.value).in_(chunk))
        found.update({(k, v): i for k, v, i in session.execute(query)})
    return found


def learn_links(session: Session, links: Sequence[tuple[str, int, int]]) -> None:
    """(source, known identity, also identity): `also` follows `known`'s person unless the config claims it."""
    table = Identity.__table__  # type: ignore[attr-defined]
    for source, known, also in links:
        owner = select(table.c.person_id).where(table.c.id == known).scalar_subquery()
        session.execute(
            update(table)
            .where(table.c.id == also, (table.c.person_id.is_(None)) | (table.c.linked_via.is_not(None)))
            .where(owner.is_not(None))
            .values(person_id=owner, linked_via=source)
        )


def upsert(session: Session, model: type, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> Upserted:
    """Insert new rows, update changed ones (a vendor restated them), count the unchanged."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    result = Upserted()
    values = [c for c in rows[0] if c not in keys] if rows else []
    for chunk in _chunks(list({tuple(r[k] for k in keys): r for r in rows}.values())):  # last one of a key wins
        key_cols = [table.c[k] for k in keys]
        query = select(*key_cols, table.c.id, *[table.c[v] for v in values]).where(
            tuple_(*key_cols).in_([tuple(r[k] for k in keys) for r in chunk])
        )
        existing = {tuple(row[: len(keys)]): row[len(keys):] for row in session.execute(query)}
        fresh, changed = [], []
        for row in chunk:
            old = existing.get(tuple(row[k] for k in keys))
            if old is None:
                fresh.append(row)
            elif _older_reading(row, dict(zip(values, old[1:]))):
                result.duplicates += 1
            elif tuple(old[1:]) != tuple(row[v] for v in values):
                changed.append({"_id": old[0], **row})
            else:
                result.duplicates += 1
        if fresh:
            session.execute(table.insert(), fresh)
        for row in changed:
            row_id = row.pop("_id")
            session.execute(update(table).where(table.c.id == row_id).values(**row))
        result.stored.update(tuple(row[k] for k in keys) for row in (*fresh, *changed))
    return result


def _older_reading(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """A cumulative reading older than the stored one never replaces it."""
    before, after = old.get("observed_at"), new.get("observed_at")
    if before is None or after is None:
        return False
    return bool(_utc(after) < _utc(before))


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def delete_stale(session: Session, source: str, day: date, keep: set[str]) -> None:
    """A vendor restated a whole (source, day) bucket: rows of it that are gone from it go too."""
    for model in (Usage, Activity, Billed):
        table = model.__table__  # type: ignore[attr-defined]
        stale = select(table.c.record_key).where(table.c.source == source, table.c.day == day).distinct()
        gone = [key for (key,) in session.execute(stale) if key not in keep]
        for chunk in _chunks(gone):
            session.execute(delete(table).where(table.c.source == source, table.c.record_key.in_(chunk)))


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
