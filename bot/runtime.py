"""Everything a command needs, built once and lazily: settings, database, org config, prices.

Building a Runtime never writes. The write points are explicit: `bot.people.directory.prepare`
(migrations, then the directory brought in step with the config) runs at `serve` start, `ingest`,
`pull`, `db upgrade` and `demo`; read-only commands find the schema as it is and say when it is behind.
Its repr never shows the database password.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from bot.config.org import OrgConfig, load_config
from bot.config.settings import Settings, redact_url
from bot.core.prices import PriceTable
from bot.errors import SchemaBehind
from storage import make_engine
from storage.migrate import schema_revisions


@dataclass
class Runtime:
    settings: Settings
    db_url: str
    config_path: str

    def __repr__(self) -> str:
        shown = f"settings={self.settings!r}, db_url={redact_url(self.db_url)!r}, config_path={self.config_path!r}"
        return f"Runtime({shown})"

    @classmethod
    def from_settings(cls, settings: Settings, db: str | None = None, config: str | None = None) -> Runtime:
        return cls(settings, db or settings.database_url, config or settings.tokenworth_config)

    @cached_property
    def database(self) -> Engine:
        """The database as it is, migrated or not: for the write points that migrate it."""
        return make_engine(self.db_url)

    @cached_property
    def engine(self) -> Engine:
        """The database, checked to be at the schema this version reads (never migrated here)."""
        current, head = schema_revisions(self.database)
        if current != head:
            where = self.database.url.render_as_string(hide_password=True)
            state = "has no tokenworth schema yet" if current is None else f"is at schema {current}"
            raise SchemaBehind(f"the database at {where} {state}, this version needs {head}: "
                               "run `tokenworth db upgrade` (or `tokenworth ingest`, which migrates first)")
        return self.database

    @cached_property
    def config(self) -> OrgConfig:
        """The org config, validated (loading it writes nothing)."""
        return load_config(self.config_path)

    @cached_property
    def prices(self) -> PriceTable:
        return PriceTable.builtin(self.config.prices)
