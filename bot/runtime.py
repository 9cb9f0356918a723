"""Everything a command needs, built once and lazily: settings, database, org config, prices."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from bot.config.org import OrgConfig, load_config
from bot.people.directory import sync_directory
from bot.core.prices import PriceTable
from bot.config.settings import Settings
from storage import make_engine, upgrade


@dataclass
class Runtime:
    settings: Settings
    db_url: str
    config_path: str
    sync: bool = True  # bring the directory in step with the config on first use (the main process does)

    @classmethod
    def from_settings(cls, settings: Settings, db: str | None = None, config: str | None = None) -> Runtime:
        return cls(settings, db or settings.database_url, config or settings.tokenworth_config)

    @cached_property
    def engine(self) -> Engine:
        """The database, migrated to the latest schema on first use."""
        engine = make_engine(self.db_url)
        upgrade(engine)
        return engine

    @cached_property
    def config(self) -> OrgConfig:
        """The org config, validated, with the directory brought in step with it."""
        config = load_config(self.config_path)
        if self.sync:
            sync_directory(self.engine, config)
        return config

    @cached_property
    def prices(self) -> PriceTable:
        return PriceTable.builtin(self.config.prices)
