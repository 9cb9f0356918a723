"""Getting data in: ingest files (or a dry run of it), pull vendor APIs, see rejections and identities."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from bot.cli.base import cli, common, prepare_for_ingest, progress
from bot.config.org import OrgConfig
from bot.digest.format import plural
from bot.errors import ConfigError
from bot.ingest.files import FileReport, ingest_each
from bot.runtime import Runtime
from storage.engine import session_scope

# Why a feed's valid records may carry nothing to count; every feed also skips a record repeated in its file.
SKIP_REASONS = {
    "github": "pull requests not merged, or opened by bots",
    "jira": "issues not done, or resolved as not done (Won't Do, Duplicate, ...)",
    "linear": "issues not completed",
    "outcomes_csv": "rows with nothing to count",
}
TOTALS = ("records", "stored", "duplicates", "skipped", "rejected")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", help="Force a feed format instead of detecting it from the content.")
@click.option("--dry-run", "dry_run", is_flag=True,
              help="Parse and count everything, write nothing (the database must be at the current schema).")
@click.option("--json", "as_json", is_flag=True, help="Print the per-file report and the totals as JSON.")
@common
def ingest(runtime: Runtime, paths: tuple[Path, ...], source: str | None, dry_run: bool, as_json: bool) -> None:
    """Ingest usage and outcome feed files (directories are walked; files in them that are not feeds are skipped)."""
    config = _dry_run_config(runtime) if dry_run else prepare_for_ingest(runtime)
    reports: list[FileReport] = []
    advance = progress() if sys.stderr.isatty() and not as_json else None
    for r in ingest_each(runtime.engine, paths, source, advance, config, dry_run=dry_run):
        reports.append(r)
        if not as_json:  # each file's report as soon as it is done, whatever the next file does
            _echo_report(r)
    totals = ingest_totals(reports)
    if as_json:
        click.echo(json.dumps({"dry_run": dry_run, "files": [r.as_json() for r in reports], "totals": totals},
                              indent=2))
    else:
        click.echo(totals_line(totals, dry_run))
    sys.exit(2 if any(r.unusable for r in reports) else 1 if any(r.rejected for r in reports) else 0)


def _dry_run_config(runtime: Runtime) -> OrgConfig | None:
    """The config a dry run parses with, loaded and validated but never synced to the database."""
    if Path(runtime.config_path).exists():
        return runtime.config
    if runtime.config_path != runtime.settings.tokenworth_config:
        raise ConfigError(f"{runtime.config_path}: config file not found")
    return None


def _echo_report(r: FileReport) -> None:
    if r.ignored is not None:
        click.echo(f"warning: {r.path}: skipped, not a feed ({r.ignored})", err=True)
        return
    click.echo(_ingest_line(r))
    for error in r.errors:
        click.echo(f"  rejected {error['where']}: {error['reason']}", err=True)


def _ingest_line(r: FileReport) -> str:
    return (f"{r.path}: {r.source or 'unusable'}: {r.records} read, {r.stored} stored, {r.duplicates} duplicates, "
            f"{r.skipped} skipped{_skip_reason(r)}, {r.rejected} rejected"
            f"{f', {r.removed} removed as restated' if r.removed else ''}")


def _skip_reason(r: FileReport) -> str:
    """Why the skipped records were skipped: the people who asked to be forgotten, and the feed's own reasons."""
    if not r.skipped:
        return ""
    reasons = [f"{r.forgotten} of people who asked to be forgotten"] if r.forgotten else []
    if r.skipped > r.forgotten:
        reasons.append(SKIP_REASONS.get(r.source or "", "records with nothing to count") + ", or repeated in the file")
    return f" ({'; '.join(reasons)})"


def ingest_totals(reports: list[FileReport]) -> dict[str, int]:
    fed = [r for r in reports if r.ignored is None]
    totals = {name: sum(getattr(r, name) for r in fed) for name in TOTALS}
    return {"files": len(fed), **totals, "unusable": sum(r.unusable for r in fed),
            "not_feeds": len(reports) - len(fed)}


def totals_line(totals: dict[str, int], dry_run: bool) -> str:
    parts = [plural(totals["files"], "file"), *(f"{totals[name]} {'read' if name == 'records' else name}"
                                               for name in TOTALS)]
    parts += [f"{totals['unusable']} unusable"] if totals["unusable"] else []
    parts += [f"{plural(totals['not_feeds'], 'file')} skipped as not feeds"] if totals["not_feeds"] else []
    return f"{'Dry run, nothing written: ' if dry_run else ''}total: {', '.join(parts)}"


@cli.command(name="ingest-errors")
@click.option("--limit", default=50, show_default=True, help="How many rejected records to show.")
@common
def ingest_errors(runtime: Runtime, limit: int) -> None:
    """Rejected feed records with their location and reason, from each file's latest ingest only, newest first."""
    from bot.reads.queries import latest_rejections

    with session_scope(runtime.engine) as session:
        rows = latest_rejections(session, limit)
    for _path, when, location, reason in rows:
        click.echo(f"{when:%Y-%m-%d %H:%M} {location}: {reason}")
    if not rows:
        click.echo("No rejected records in the latest ingest of any file.")


@cli.command()
@click.option("--unmapped", is_flag=True, help="Only identities nobody claims, with their AI spend.")
@click.option("--days", default=30, show_default=True, help="With --unmapped: how many days of spend to add up.")
@common
def identities(runtime: Runtime, unmapped: bool, days: int) -> None:
    """Feed identities and who they belong to (config alias, or learned from a feed record)."""
    from bot.people.identities import identity_lines, unmapped_lines

    with session_scope(runtime.engine) as session:
        if unmapped:
            lines = unmapped_lines(session, runtime.prices, runtime.config.gateways, days,
                                   workflows=runtime.config.workflows)
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
