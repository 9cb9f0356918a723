"""Engine and sessions: SQLite (WAL) by default, PostgreSQL in production."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, create_engine

SQLITE_BUSY_MS = 30_000  # how long a SQLite writer waits for another's lock before giving up
SQLITE_INGEST_BUSY_MS = 3_600_000  # an ingest waits for another ingest's commit, however long its file


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_MS)}")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


@contextmanager
def patient(session: OrmSession, busy_ms: int = SQLITE_INGEST_BUSY_MS) -> Iterator[None]:
    """Within the block, a SQLite writer waits `busy_ms` for another's lock (another ingest) instead of the usual."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.execute(text(f"PRAGMA busy_timeout = {int(busy_ms)}"))
    try:
        yield
    finally:
        if sqlite:
            session.execute(text(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_MS)}"))
