"""Persistence: SQLModel tables, engine and sessions, Alembic migrations, queries."""

from storage.engine import make_engine, session_scope
from storage.migrate import upgrade

__all__ = ["make_engine", "session_scope", "upgrade"]
