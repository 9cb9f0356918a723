"""Idempotent writes: identities got or created, rows upserted by their natural key.

These functions decide nothing about repeats: the caller (bot.ingest.store) hands each natural key
over once per batch. Across batches and ingests the upsert is the database half of ingest's one
rule: a row written again with other figures replaces the stored ones (a vendor restated them),
except that an older cumulative reading (`observed_at`) never replaces a newer one, and a null in a
KEEP_KNOWN column never replaces a stored value. A restated bucket removes only the stale rows its
caller says the restatement covers.

On SQLite, batch upserts and identity inserts run the very SQL SQLAlchemy compiles for them, with its
types' bind processors applied, on the session's own sqlite3 connection: the same statements in the
same transaction, without SQLAlchemy's per-row parameter handling (which cost more than SQLite did).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import Date, DateTime, Table, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from storage.dialect import dialect_name, driver, insert
from storage.models import Activity, Billed, Identity, Usage
from storage.models import table as table_of

CHUNK = 500
SQLITE_PAGE = 256  # rows per upsert statement on SQLite: 100 and 500 measured alike, 2,000 a third slower
# Columns a record may leave out (null: the feed did not say) that never erase a value stored earlier: a PR
# list page carries no line counts, the single PR and the webhook do, and either may come last.
KEEP_KNOWN: dict[str, frozenset[str]] = {"workdetail": frozenset({"additions", "deletions"})}


@dataclass
class Upserted:
    stored: set[tuple[Any, ...]] = field(default_factory=set)  # keys of new and restated rows
    duplicates: int = 0  # rows already stored with the same figures


def insert_ignoring_conflicts(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = insert(session, table).on_conflict_do_nothing()
    if dialect_name(session) == "sqlite":
        dialect = session.get_bind().dialect
        compiled = statement.compile(dialect=dialect, column_keys=list(rows[0]))
        names = tuple(compiled.positiontup or ())
        if sorted(names) == sorted(rows[0]):  # no default to fill in: the driver takes the rows as they are
            columns = (_bound(table.c[name].type, dialect, [row[name] for row in rows]) for name in names)
            driver(session).executemany(compiled.string, list(zip(*columns, strict=True)))
            return
    session.execute(statement, list(rows))


def identity_ids(session: Session, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Ids for (kind, value) pairs, creating unattributed identities for the unknown ones."""
    wanted = sorted(set(refs))
    table = table_of(Identity)
    insert_ignoring_conflicts(session, table, [{"kind": k, "value": v} for k, v in wanted])
    values: dict[str, list[str]] = {}
    for kind, value in wanted:
        values.setdefault(kind, []).append(value)
    found: dict[tuple[str, str], int] = {}
    for kind, kept in values.items():  # kind = ? AND value IN (..) searches the unique index; (kind, value) IN scans
        for chunk in _chunks(kept):
            query = select(table.c.value, table.c.id).where(table.c.kind == kind, table.c.value.in_(chunk))
            found.update({(kind, value): number for value, number in session.execute(query)})
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
    return upsert_columns(session, model, keys, {name: [row[name] for row in rows] for name in rows[0]})


def upsert_columns(
    session: Session, model: type, keys: Sequence[str], columns: Mapping[str, Sequence[Any]],
) -> Upserted:
    """`upsert`, given column by column (each name's values, in row order): what a batch of rows read at once
    hands over without building a dict per row. On SQLite it runs on the driver (`_sqlite_upsert`)."""
    table = table_of(model)
    count = len(next(iter(columns.values()), ()))
    if not count:
        return Upserted()
    if len(set(zip(*(columns[k] for k in keys), strict=True))) != count:
        raise ValueError(f"upsert into {table.name}: a key repeats in one batch; admit each key once")
    shape = _sqlite_shape(session, table, tuple(keys), tuple(columns)) if dialect_name(session) == "sqlite" else None
    if shape is not None:
        stored = _sqlite_upsert(session, table, shape, columns)
    else:  # PostgreSQL, or a column left out that takes its default: SQLAlchemy fills it in
        statement = _upsert_statement(session, table, keys, [c for c in columns if c not in keys])
        names = list(columns)
        rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
        stored = {tuple(row) for row in session.execute(statement, rows)}
    return Upserted(stored=stored, duplicates=count - len(stored))


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


def _sqlite_upsert(
    session: Session, table: Table, shape: tuple[str, tuple[str, ...]], columns: Mapping[str, Sequence[Any]],
) -> set[tuple[Any, ...]]:
    """The upsert's own SQL (compiled once per shape), run on the sqlite3 connection a page of rows per statement.

    SQLAlchemy would build a parameter dict, then a parameter list, per row; here each column's values go
    through its type's bind processor (once per distinct date), and each page is one flat list. Pages are powers
    of two up to SQLITE_PAGE (and SQLite's variable limit), so a few statements serve every batch size.
    """
    sql, names = shape
    dialect = session.get_bind().dialect
    rows = list(zip(*(_bound(table.c[name].type, dialect, columns[name]) for name in names), strict=True))
    connection = driver(session)
    largest = min(SQLITE_PAGE, max(1, connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(names)))
    stored: set[tuple[Any, ...]] = set()
    start = 0
    while start < len(rows):
        size = min(largest, 1 << ((len(rows) - start).bit_length() - 1))
        page = list(chain.from_iterable(rows[start : start + size]))
        stored.update(map(tuple, connection.execute(_sqlite_page(sql, len(names), size), page).fetchall()))
        start += size
    return stored


_SHAPES: dict[tuple[Any, ...], tuple[str, tuple[str, ...]] | None] = {}


def _sqlite_shape(
    session: Session, table: Table, keys: tuple[str, ...], given: tuple[str, ...],
) -> tuple[str, tuple[str, ...]] | None:
    """The upsert's SQL for one row and its parameters' column order; None when it binds a column not given."""
    shape = (table.name, keys, given)
    if shape not in _SHAPES:
        statement = _upsert_statement(session, table, keys, [c for c in given if c not in keys])
        compiled = statement.compile(dialect=session.get_bind().dialect, column_keys=list(given))
        names = tuple(compiled.positiontup or ())
        _SHAPES[shape] = (compiled.string, names) if sorted(names) == sorted(given) else None
    return _SHAPES[shape]


@lru_cache(maxsize=256)
def _sqlite_page(sql: str, width: int, size: int) -> str:
    one = "(" + ", ".join("?" * width) + ")"
    if sql.count(f"VALUES {one}") != 1:
        raise RuntimeError(f"an upsert's VALUES clause is not where it was expected: {sql[:200]}")
    return sql.replace(f"VALUES {one}", "VALUES " + ", ".join([one] * size))


def _bound(kind: Any, dialect: Any, values: Sequence[Any]) -> Sequence[Any]:
    """A column's values as the driver takes them: its type's bind processor applied, once per distinct date."""
    process = kind.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return values
    if isinstance(getattr(kind, "impl_instance", kind), Date | DateTime):  # few distinct days and readings a batch
        done = {value: process(value) for value in set(values)}  # equal dates, equal instants: the same text
        return list(map(done.__getitem__, values))
    return list(map(process, values))


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
