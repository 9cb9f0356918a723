"""Commands started together on a fresh database: the directory sync is idempotent under concurrency."""

from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import Engine, func, select

from bot.config.org import OrgConfig
from bot.people.directory import sync_directory
from storage import make_engine
from storage.engine import session_scope
from storage.models import Identity, Person, Team

SYNCERS = 6


def directory(engine: Engine) -> tuple[int, int, int, int]:
    with session_scope(engine) as session:
        teams = session.execute(select(func.count()).select_from(Team)).scalar_one()
        people = session.execute(select(func.count()).select_from(Person)).scalar_one()
        identities = session.execute(select(func.count()).select_from(Identity)).scalar_one()
        linked = session.execute(select(func.count()).select_from(Identity).where(
            Identity.person_id.is_not(None))).scalar_one()  # type: ignore[union-attr]
    return teams, people, identities, linked


def test_concurrent_syncs_of_a_fresh_directory_all_succeed_and_agree(engine: Engine, acme_config: OrgConfig) -> None:
    url = engine.url.render_as_string(hide_password=False)
    start = threading.Barrier(SYNCERS)
    failures: list[BaseException] = []

    def sync() -> None:
        own = make_engine(url)  # its own engine and connections, as a second command has
        try:
            start.wait()
            sync_directory(own, acme_config)
        except BaseException as exc:  # noqa: BLE001 - reported below, with every other failure
            failures.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=sync) for _ in range(SYNCERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    after_race = directory(engine)
    sync_directory(engine, acme_config)
    assert directory(engine) == after_race  # the same directory one sync alone makes
    assert after_race[:2] == (len(acme_config.teams), len(acme_config.people))


def _prepare(db_url: str) -> str:
    """In a process of its own, as a second `tokenworth` command would run."""
    from bot.config.settings import Settings
    from bot.people.directory import prepare
    from bot.runtime import Runtime
    from tests.conftest import EXAMPLE_CONFIG

    try:
        prepare(Runtime(Settings(), db_url, str(EXAMPLE_CONFIG)))
    except Exception as exc:  # noqa: BLE001 - the parent asserts there was none
        return f"{type(exc).__name__}: {exc}"
    return "ok"


def test_commands_started_together_on_a_fresh_database_both_migrate_and_sync(
    db_url: str, acme_config: OrgConfig
) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pool.apply(_prepare, ("sqlite://",))  # both processes imported and warm, so they start together
        pool.apply(_prepare, ("sqlite://",))
        results = pool.map(_prepare, [db_url, db_url], chunksize=1)
    assert results == ["ok", "ok"]
    engine = make_engine(db_url)
    try:
        assert directory(engine)[:2] == (len(acme_config.teams), len(acme_config.people))
    finally:
        engine.dispose()
