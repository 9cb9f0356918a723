"""Idempotent writes: identities get-or-create, rows upserted by natural key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from datetime import date

from sqlalchemy import Table, and_, delete, or_, select, tuple_, update
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
    """Insert new rows, update changed ones (a vendor restated them), count the unchanged.

    One INSERT .. ON CONFLICT DO UPDATE per batch, updating only where a figure differs and the
    reading is not older, and RETURNING the keys it wrote: the unchanged rows are the rest.
    """
    table: Table = model.__table__  # type: ignore[attr-defined]
    unique = list({tuple(r[k] for k in keys): r for r in rows}.values())  # last one of a key wins
    if not unique:
        return Upserted()
    statement = _upsert_statement(session, table, keys, [c for c in unique[0] if c not in keys])
    stored = {tuple(row) for row in session.execute(statement, unique)}
    return Upserted(stored=stored, duplicates=len(unique) - len(stored))


def _upsert_statement(session: Session, table: Table, keys: Sequence[str], values: Sequence[str]) -> Any:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    new = insert.excluded
    changed = or_(*(table.c[v].is_distinct_from(new[v]) for v in values))
    if "observed_at" in values:  # a cumulative reading older than the stored one never replaces it
        old = table.c.observed_at
        changed = and_(changed, or_(old.is_(None), new.observed_at.is_(None), new.observed_at >= old))
    return insert.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys], set_={v: new[v] for v in values}, where=changed,
    ).returning(*(table.c[k] for k in keys))


def delete_stale(session: Session, source: str, day: date, keep: set[str]) -> None:
    """A vendor restated a whole (source, day) bucket: rows of it that are gone from it go too."""
    for model in (Usage, Activity, Billed):
        table = model.__table__  # type: ignore[union-attr]
        stale = select(table.c.record_key).where(table.c.source == source, table.c.day == day).distinct()
        gone = [key for (key,) in session.execute(stale) if key not in keep]
        for chunk in _chunks(gone):
            session.execute(delete(table).where(table.c.source == source, table.c.record_key.in_(chunk)))


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
