"""Getting data in: ingest files, pull vendor APIs, see rejections and identities."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.base import cli, common, prepare_for_ingest, progress
from bot.ingest.files import FileReport, ingest_each
from bot.runtime import Runtime
from storage.engine import session_scope


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", help="Force a feed format instead of detecting it from the content.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-file report as JSON.")
@common
def ingest(runtime: Runtime, paths: tuple[Path, ...], source: str | None, as_json: bool) -> None:
    """Ingest usage and outcome feed files (directories are walked)."""
    config = prepare_for_ingest(runtime)
    reports: list[FileReport] = []
    for r in ingest_each(runtime.engine, paths, source, progress() if sys.stderr.isatty() else None, config):
        reports.append(r)
        if not as_json:  # each file's report as soon as it is done, whatever the next file does
            click.echo(_ingest_line(r))
            for error in r.errors:
                click.echo(f"  rejected {error['where']}: {error['reason']}", err=True)
    if as_json:
        click.echo(json.dumps({"files": [r.as_json() for r in reports]}, indent=2))
    sys.exit(2 if any(r.unusable for r in reports) else 1 if any(r.rejected for r in reports) else 0)


def _ingest_line(r: FileReport) -> str:
    forgotten = f" ({r.forgotten} forgotten)" if r.forgotten else ""
    removed = f", {r.removed} removed as restated" if r.removed else ""
    return (f"{r.path}: {r.source or 'unusable'}: {r.records} read, {r.stored} stored, {r.duplicates} duplicates, "
            f"{r.skipped} skipped{forgotten}, {r.rejected} rejected{removed}")


@cli.command(name="ingest-errors")
@click.option("--limit", default=50, show_default=True, help="How many rejected records to show.")
@common
def ingest_errors(runtime: Runtime, limit: int) -> None:
    """List rejected feed records with their location and reason, newest first."""
    from bot.reads.queries import recent_rejections

    with session_scope(runtime.engine) as session:
        rows = recent_rejections(session, limit)
    for when, location, reason in rows:
        click.echo(f"{when:%Y-%m-%d %H:%M} {location}: {reason}")
    if not rows:
        click.echo("No rejected records.")


@cli.command()
@click.option("--unmapped", is_flag=True, help="Only identities nobody claims, with their AI spend.")
@click.option("--days", default=30, show_default=True, help="With --unmapped: how many days of spend to add up.")
@common
def identities(runtime: Runtime, unmapped: bool, days: int) -> None:
    """Feed identities and who they belong to (config alias, or learned from a feed record)."""
    from bot.people.identities import identity_lines, unmapped_lines

    with session_scope(runtime.engine) as session:
        if unmapped:
            lines = unmapped_lines(session, runtime.prices, runtime.config.gateways, days)
        else:
            lines = identity_lines(session)
    for line in lines or ["Nothing to show."]:
        click.echo(line)



@cli.command(name="pull")
@click.argument("source", metavar="SOURCE")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
              help="First UTC day (default: resume from the last good pull).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="UTC day to stop before (exclusive; default today).")
@click.option("--repo", metavar="OWNER/NAME", help="Repository, for `github` (default: $GITHUB_REPOS).")
@click.option("--json", "as_json", is_flag=True, help="Print one result per sub-feed as JSON.")
@common
def pull_command(runtime: Runtime, source: str, since: Any, until: Any, repo: str | None, as_json: bool) -> None:
    """Pull a vendor API (anthropic, openai, cursor, litellm, github-copilot, github;
    `anthropic:usage` picks one feed)."""
    from bot.ingest.pull import pull

    prepare_for_ingest(runtime)
    results = pull(runtime.engine, runtime.settings, source, since=since.date() if since else None,
                   until=until.date() if until else None, repo=repo)
    if as_json:
        click.echo(json.dumps({"pulls": [r.as_json() for r in results]}, indent=2))
    for result in results:
        if not as_json:
            click.echo(result.line())
        if not result.ok:
            click.echo(f"error: {result.source}: {result.error}", err=True)
    sys.exit(0 if all(r.ok for r in results) else 2)
