"""The directory: teams, people and their identities, kept in step with the org config.

Invariant: a sync is idempotent, also when several run at once (two commands started together on
a fresh database): teams and people are upserted by their unique name and email, and ids are read
back afterwards, so a concurrent sync's rows are updated, never inserted twice. The first statement
writes, so SQLite takes its write lock before anything is read and no snapshot can go stale. Only
one process migrates a database at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, Table, select, text, update
from sqlalchemy.orm import Session

from bot.config.org import OrgConfig, PersonConfig, identities_of
from bot.ingest.feeds.base import IdentityRef
from bot.runtime import Runtime
from storage.dialect import insert
from storage.engine import session_scope
from storage.migrate import upgrade
from storage.models import Identity, Person, Team, table
from storage.writes import identity_ids

EMAIL_KEYED = ("cursor", "litellm")
CHUNK = 500
MIGRATION_LOCK_KEY = 0x746F6B656E  # "token": the advisory lock every tokenworth process migrates under


def prepare(runtime: Runtime) -> None:
    """The explicit write point before work that writes: migrate the schema, then sync the directory."""
    with _one_migration_at_a_time(runtime.database):
        upgrade(runtime.database)
    sync_directory(runtime.engine, runtime.config)


@contextmanager
def _one_migration_at_a_time(engine: Engine) -> Iterator[None]:
    """Two processes migrating one fresh database both create its tables and one fails: the second waits
    here (a PostgreSQL advisory lock, or a lock file next to a SQLite file), then
    finds the schema at head and has nothing to do."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    import fcntl

    with open(f"{database}-migrate.lock", "a+b") as lock:  # next to the database, like its -wal and -shm
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def sync_directory(engine: Engine, config: OrgConfig) -> None:
    """Upsert teams and people; point each configured alias at its person.

    Usage rows reference identities, not people, so adding an alias later re-attributes past
    usage without re-ingesting anything.
    """
    with session_scope(engine) as session:
        _sync_teams(session, config)
        person_ids = _sync_people(session, config)
        claimed: dict[int, int] = {}
        for refs, person in _claims(config):
            ids = identity_ids(session, [(r.kind, r.value) for r in refs])
            for identity_id in ids.values():
                claimed.setdefault(identity_id, person_ids[person.email])
        _point_identities(session, claimed)


def _claims(config: OrgConfig) -> list[tuple[list[IdentityRef], PersonConfig]]:
    """Explicit aliases first; then each person's email also stands for their identity in feeds
    keyed by email (Cursor, LiteLLM) unless somebody claims that value explicitly."""
    explicit = [([IdentityRef.of(k, v) for k, v in identities_of(p)], p) for p in config.people]
    implicit = [([IdentityRef.of(kind, p.email) for kind in EMAIL_KEYED], p) for p in config.people]
    return explicit + implicit


def _sync_teams(session: Session, config: OrgConfig) -> None:
    rows = [{"name": t.name, "slack_channel": t.slack_channel, "teams_channel": t.teams_channel,
             "timezone": t.timezone} for t in sorted(config.teams, key=lambda t: t.name)]
    _upsert(session, table(Team), "name", rows)


def _sync_people(session: Session, config: OrgConfig) -> dict[str, int]:
    rows = [{"email": p.email, "name": p.name, "team": p.team} for p in sorted(config.people, key=lambda p: p.email)]
    _upsert(session, table(Person), "email", rows)
    people = table(Person)
    ids: dict[str, int] = {}
    emails = [row["email"] for row in rows]
    for start in range(0, len(emails), CHUNK):
        found = select(people.c.email, people.c.id).where(people.c.email.in_(emails[start:start + CHUNK]))
        ids.update({email: person_id for email, person_id in session.execute(found)})
    return ids


def _upsert(session: Session, target: Table, key: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows, or update the row already holding their key: whoever inserted it first."""
    if not rows:
        return
    statement = insert(session, target)
    changes = {name: statement.excluded[name] for name in rows[0] if name != key}
    session.execute(statement.on_conflict_do_update(index_elements=[key], set_=changes), rows)


def _point_identities(session: Session, claimed: dict[int, int]) -> None:
    identities = table(Identity)
    for identity_id, person_id in claimed.items():
        session.execute(
            update(identities).where(identities.c.id == identity_id).values(person_id=person_id, linked_via=None)
        )
    stale = update(identities).where(identities.c.person_id.is_not(None), identities.c.linked_via.is_(None))
    if claimed:
        stale = stale.where(identities.c.id.not_in(list(claimed)))
    session.execute(stale.values(person_id=None))
