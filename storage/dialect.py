"""The one place that picks a dialect's INSERT (PostgreSQL's in production, SQLite's everywhere else), and
hands out the driver's own connection for bulk statements.

Both dialects spell an upsert the same way (`on_conflict_do_nothing`, `on_conflict_do_update`,
`excluded`), but SQLAlchemy only offers it on the dialect's own `insert`; callers ask for it here
instead of testing the dialect name themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

Insert = postgresql.Insert | sqlite.Insert


def insert(bind: Session | Engine | Connection, table: Table) -> Insert:
    """An INSERT into `table` for the database `bind` talks to, with ON CONFLICT clauses available."""
    if dialect_name(bind) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def dialect_name(bind: Session | Engine | Connection) -> str:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name


def driver(session: Session) -> Any:
    """The session's own DB-API connection (sqlite3's or psycopg's), in the session's transaction: for bulk
    statements SQLAlchemy would only slow down."""
    connection = session.connection().connection.driver_connection
    if connection is None:
        raise RuntimeError("the session's connection is closed")
    return connection
