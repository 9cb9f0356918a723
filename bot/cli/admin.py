"""Administration: schema, people, the Teams package, the access log, retention, erasure, the DPIA, `doctor`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.base import cli, common
from bot.runtime import Runtime
from storage.migrate import upgrade as migrate


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@common
def upgrade(runtime: Runtime) -> None:
    """Apply database migrations (`serve`, `ingest` and `pull` also do this first)."""
    migrate(runtime.database)
    click.echo(f"Database at the latest schema: {runtime.engine.url.render_as_string(hide_password=True)}")


@cli.group()
def people() -> None:
    """The people in the org config."""


@people.command(name="import")
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(path_type=Path))
@common
def people_import(runtime: Runtime, csv_path: Path) -> None:
    """Add or update people and their feed identities in the config's people: from a CSV."""
    from bot.people.csv_import import import_into_config

    summary = import_into_config(csv_path, runtime.config_path)
    click.echo(f"{csv_path}: {summary.people} people ({summary.added} added, {summary.updated} updated) "
               f"written to {summary.config_path}")


@cli.group()
def teams() -> None:
    """Microsoft Teams."""


@teams.command(name="package")
@click.option("--out", "out", default="tokenworth-teams.zip", show_default=True, type=click.Path(path_type=Path),
              help="Where to write the app package.")
@common
def teams_package(runtime: Runtime, out: Path) -> None:
    """Build the Teams app package (manifest and icons) to upload in Teams."""
    from bot.msteams.package import build_package

    path = build_package(runtime.settings, out)
    click.echo(f"Wrote {path}: in Teams, Apps > Manage your apps > Upload an app, then add it to each team.")


@cli.command()
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First UTC day to list (default: the whole log).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows and a summary as JSON.")
@common
def audit(runtime: Runtime, since: Any, as_json: bool) -> None:
    """The access log: every showing of team figures (when, which surface, to whom), never a figure or a ranking."""
    from bot.governance.audit import audit_json, audit_lines, audit_rows

    rows = audit_rows(runtime.engine, since.date() if since else None)
    click.echo(json.dumps(audit_json(rows), indent=2) if as_json else "\n".join(audit_lines(rows)))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the rows removed per table as JSON.")
@common
def purge(runtime: Runtime, as_json: bool) -> None:
    """Delete per-person rows older than the config's retention.days now (`serve` does it daily)."""
    from bot.governance.retention import purge as purge_old

    days = runtime.config.retention.days
    result = purge_old(runtime.engine, days, dedup_days=runtime.config.ingest.dedup_days)
    click.echo(json.dumps({"retention_days": days, **result.as_json()}, indent=2) if as_json
               else "\n".join(result.lines(days)))


@cli.command()
@click.option("--email", required=True, help="The person's email address (already removed from the config).")
@click.option("--alias", "aliases", multiple=True, metavar="KIND:VALUE",
              help="A feed identity of theirs no longer linked to them (repeatable), e.g. github:cara-codes.")
@click.option("--requested-by", "requested_by", help="Who asked for the erasure (default: the OS user).")
@common
def forget(runtime: Runtime, email: str, aliases: tuple[str, ...], requested_by: str | None) -> None:
    """Erase a person's rows, identities and links, and log the erasure by hashes only."""
    from bot.governance.erasure import forget as erase
    from bot.governance.erasure import parse_alias, requester

    refs = [parse_alias(a) for a in aliases]
    done = erase(runtime.engine, runtime.config, email, refs, requested_by or requester())
    for line in done.lines(email.strip().lower()):
        click.echo(line, err=line.startswith("warning:"))


@cli.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Directory for dpia.md (and .pdf).")
@common
def dpia(runtime: Runtime, out: Path) -> None:
    """Write the DPIA and works-council pack (Markdown; PDF too where pandoc or libreoffice is installed)."""
    from bot.governance.dpia import gather, render, write_pack

    paths, note = write_pack(out, render(gather(runtime.engine, runtime.config, runtime.config_path)))
    click.echo(f"Wrote {', '.join(str(p) for p in paths)} ({note})")


@cli.command()
@click.option("--db", "db", metavar="URL", help="Database URL (default: $DATABASE_URL or sqlite:///./tokenworth.db).")
@click.option("--config", "config", metavar="PATH",
              help="Org config YAML (default: $TOKENWORTH_CONFIG or ./tokenworth.yml).")
@click.option("--json", "as_json", is_flag=True, help="Print every check as JSON.")
def doctor(db: str | None, config: str | None, as_json: bool) -> None:
    """Check the setup: settings, config, database, Slack, Teams, feeds, unmapped spend, schedule. Exit 1 on a failure.

    It writes nothing and posts nothing; a broken part is a failed check, with its fix, never a stop.
    """
    from bot.serve.doctor import run_doctor, summary

    checks = run_doctor(db, config)
    failed = any(c.status == "fail" for c in checks)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "checks": [c.as_json() for c in checks]}, indent=2))
    else:
        click.echo("\n".join([*(c.line() for c in checks), summary(checks)]))
    sys.exit(1 if failed else 0)
