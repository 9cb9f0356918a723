"""Migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage import upgrade


def test_upgrade_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_upgrade_twice_is_harmless(engine: Engine) -> None:
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"usage", "outcome", "identity", "person", "team", "digestpost", "ingestrun"} <= tables


def test_a_forgotten_persons_id_is_never_given_to_someone_new(engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import delete, insert, select

    from storage.models import Person, table

    people = table(Person)
    with engine.begin() as conn:
        first = conn.execute(insert(people).values(email="a@x.test", kudos_opt_in=False)).inserted_primary_key[0]
        last = conn.execute(insert(people).values(email="b@x.test", kudos_opt_in=False)).inserted_primary_key[0]
        conn.execute(delete(people).where(people.c.id == last))
        new = conn.execute(insert(people).values(email="c@x.test", kudos_opt_in=False)).inserted_primary_key[0]
        assert new > last > first
        assert conn.execute(select(people.c.id).order_by(people.c.id)).scalars().all() == [first, new]
