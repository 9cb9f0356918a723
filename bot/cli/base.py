"""What every command shares: the click group, --db/--config, error translation, the ingest preparation."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from bot import __version__
from bot.config.org import OrgConfig
from bot.config.settings import load_settings
from bot.errors import ConfigError, TokenworthError
from bot.people.directory import prepare
from bot.runtime import Runtime
from storage.migrate import upgrade as migrate


def common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every command takes --db and --config, and turns tokenworth errors into clean exits."""

    @click.option("--db", "db", metavar="URL",
                  help="Database URL (default: $DATABASE_URL or sqlite:///./tokenworth.db).")
    @click.option("--config", "config", metavar="PATH",
                  help="Org config YAML (default: $TOKENWORTH_CONFIG or ./tokenworth.yml).")
    @functools.wraps(command)
    def wrapper(*args: Any, db: str | None, config: str | None, **kwargs: Any) -> Any:
        try:
            runtime = Runtime.from_settings(load_settings(), db=db, config=config)
            return command(runtime, *args, **kwargs)
        except TokenworthError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OperationalError as exc:
            # A lock held past the busy timeout, or the server gone: nothing half-written, say so and stop.
            click.echo(f"error: the database is unavailable ({exc.orig}); nothing was changed: try again "
                       "(a running `serve` retries digests and pulls by itself)", err=True)
            sys.exit(1)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120, "terminal_width": 120})
@click.version_option(__version__, prog_name="tokenworth")
def cli() -> None:
    """tokenworth: outcome-weighted AI usage digests instead of token leaderboards."""



def progress() -> Callable[[int], None]:
    """A running count of records on the terminal, for long ingests."""
    seen = [0]

    def advance(records: int) -> None:
        seen[0] += records
        click.echo(f"\r  {seen[0]:,} records ingested", nl=False, err=True)

    return advance


def prepare_for_ingest(runtime: Runtime) -> OrgConfig | None:
    """Migrate; ingest works without a config, but when one exists it must be valid and identities follow it."""
    if Path(runtime.config_path).exists():
        prepare(runtime)
        return runtime.config
    migrate(runtime.database)
    if runtime.config_path != runtime.settings.tokenworth_config:
        raise ConfigError(f"{runtime.config_path}: config file not found")
    return None
