"""Shared fixtures: real SQLite files and a real PostgreSQL server started for the session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from bot.config.org import OrgConfig, load_config
from bot.core.prices import PriceTable
from bot.people.directory import sync_directory
from storage import make_engine, upgrade
from tests.fakes.vendor_server import VendorServer
from tests.pg import PostgresServer, find_postgres_bin

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE_CONFIG = ROOT / "examples" / "tokenworth.yml"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = find_postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests, but no PostgreSQL server binaries were found")
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin); install postgresql to run these")
    server = PostgresServer(bindir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tokenworth.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'tokenworth.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def acme_config() -> OrgConfig:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture
def acme_engine(engine: Engine, acme_config: OrgConfig) -> Engine:
    sync_directory(engine, acme_config)
    return engine


@pytest.fixture(scope="session")
def prices(acme_config: OrgConfig) -> PriceTable:
    return PriceTable.builtin(acme_config.prices)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No stray .env and no vendor key from the shell: a test's settings are what it gives (tests.pull_helpers)."""
    from tests.pull_helpers import clear_environment  # it reads this module's FIXTURES

    clear_environment(monkeypatch, tmp_path)


@pytest.fixture
def server() -> Iterator[VendorServer]:
    """A local fake vendor API, empty until a test routes it; a module may override it with a routed one."""
    with VendorServer() as running:
        yield running
