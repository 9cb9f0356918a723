"""Idempotent writes: identities got or created, rows upserted by their natural key.

These functions decide nothing about repeats: the caller (bot.ingest.store) hands each natural key
over once per batch. Across batches and ingests the upsert is the database half of ingest's one
rule: a row written again with other figures replaces the stored ones (a vendor restated them),
except that an older cumulative reading (`observed_at`) never replaces a newer one, and a null in a
KEEP_KNOWN column never replaces a stored value. A restated bucket removes only the stale rows its
caller says the restatement covers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, and_, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from storage.dialect import insert
from storage.models import Activity, Billed, Identity, Usage
from storage.models import table as table_of

CHUNK = 500
# Columns a record may leave out (null: the feed did not say) that never erase a value stored earlier: a PR
# list page carries no line counts, the single PR and the webhook do, and either may come last.
KEEP_KNOWN: dict[str, frozenset[str]] = {"workdetail": frozenset({"additions", "deletions"})}


@dataclass
class Upserted:
    stored: set[tuple[Any, ...]] = field(default_factory=set)  # keys of new and restated rows
    duplicates: int = 0  # rows already stored with the same figures


def insert_ignoring_conflicts(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(session, table).on_conflict_do_nothing(), list(rows))


def identity_ids(session: Session, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids for (kind, value) pairs, creating unattributed identities for the unknown ones."""
    wanted = sorted(set(refs))
    table = table_of(Identity)
    insert_ignoring_conflicts(session, table, [{"kind": k, "value": v} for k, v in wanted])
    found: dict[tuple[str, str], int] = {}
    for chunk in _chunks(wanted):
        query = select(table.c.kind, table.c.value, table.c.id).where(tuple_(table.c.kind, table.c.value).in_(chunk))
        found.update({(k, v): i for k, v, i in session.execute(query)})
    return found


def learn_links(session: Session, links: Sequence[tuple[str, int, int]]) -> None:
    """(source, known identity, also identity): `also` follows `known`'s person unless the config claims it."""
    table = table_of(Identity)
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
    reading is not older, and RETURNING the keys it wrote: the unchanged rows are the rest. A key
    may appear once per call (PostgreSQL refuses to update a row twice in one statement).
    """
    if not rows:
        return Upserted()
    if len(set(map(itemgetter(*keys), rows))) != len(rows):
        raise ValueError(f"upsert into {table_of(model).name}: a key repeats in one batch; admit each key once")
    table = table_of(model)
    statement = _upsert_statement(session, table, keys, [c for c in rows[0] if c not in keys])
    stored = {tuple(row) for row in session.execute(statement, list(rows))}
    return Upserted(stored=stored, duplicates=len(rows) - len(stored))


def _upsert_statement(session: Session, table: Table, keys: Sequence[str], values: Sequence[str]) -> Any:
    statement = insert(session, table)
    new = statement.excluded
    known = KEEP_KNOWN.get(table.name, frozenset())
    incoming = {v: func.coalesce(new[v], table.c[v]) if v in known else new[v] for v in values}
    changed = or_(*(table.c[v].is_distinct_from(incoming[v]) for v in values))
    if "observed_at" in values:  # a cumulative reading older than the stored one never replaces it
        old = table.c.observed_at
        changed = and_(changed, or_(old.is_(None), new.observed_at.is_(None), new.observed_at >= old))
    return statement.on_conflict_do_update(
        index_elements=[table.c[k] for k in keys], set_=incoming, where=changed,
    ).returning(*(table.c[k] for k in keys))


def delete_stale(
    session: Session, source: str, day: date, keep: set[str], covers: Callable[[str], bool] = lambda key: True,
) -> int:
    """A vendor restated a whole (source, day) bucket: rows of it that are gone from it go too, but only
    those the restatement `covers` (a record key -> bool). Returns how many record keys were removed."""
    removed: set[str] = set()
    for model in (Usage, Activity, Billed):
        table = table_of(model)
        stale = select(table.c.record_key).where(table.c.source == source, table.c.day == day).distinct()
        gone = [key for (key,) in session.execute(stale) if key not in keep and covers(key)]
        for chunk in _chunks(gone):
            session.execute(delete(table).where(table.c.source == source, table.c.record_key.in_(chunk)))
        removed.update(gone)
    return len(removed)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
