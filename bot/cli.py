"""The `tokenworth` command line: a thin adapter over the core, like the Slack and Teams ones."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from bot import __version__
from bot.answers.me import me_report
from bot.answers.text import me_text
from bot.config.org import OrgConfig
from bot.config.settings import load_settings
from bot.core.weeks import Week
from bot.errors import ConfigError, TokenworthError
from bot.ingest.files import FileReport, ingest_each
from bot.people.directory import prepare
from bot.runtime import Runtime
from storage.engine import session_scope
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


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", help="Force a feed format instead of detecting it from the content.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-file report as JSON.")
@common
def ingest(runtime: Runtime, paths: tuple[Path, ...], source: str | None, as_json: bool) -> None:
    """Ingest usage and outcome feed files (directories are walked)."""
    config = _prepare_for_ingest(runtime)
    reports: list[FileReport] = []
    for r in ingest_each(runtime.engine, paths, source, _progress() if sys.stderr.isatty() else None, config):
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


@cli.command()
@click.option("--email", required=True, help="The person's email address.")
@click.option("--week", "week_text", required=True, metavar="YYYY-Www", help="ISO week, for example 2026-W47.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@common
def me(runtime: Runtime, email: str, week_text: str, as_json: bool) -> None:
    """One person's week: spend, tokens, outcomes, points and yield."""
    week = Week.parse(week_text)
    config = runtime.config
    with session_scope(runtime.engine) as session:
        report = me_report(session, config, runtime.prices, email, week)
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else me_text(report))


@cli.command()
@click.option("--week", "week_text", required=True, metavar="YYYY-Www", help="ISO week, for example 2026-W47.")
@click.option("--json", "as_json", is_flag=True, help="Print the lines as JSON.")
@common
def reconcile(runtime: Runtime, week_text: str, as_json: bool) -> None:
    """List-price AI spend against what each vendor billed, per provider, for FinOps."""
    from bot.finops.reconcile import reconcile as reconcile_week
    from bot.finops.reconcile import reconcile_lines

    config = runtime.config
    with session_scope(runtime.engine) as session:
        lines = reconcile_week(session, config, runtime.prices, Week.parse(week_text))
    if as_json:
        click.echo(json.dumps([line.as_json() for line in lines], indent=2))
    else:
        for text in reconcile_lines(lines) or ["No usage or billing this week."]:
            click.echo(text)


@cli.command(name="model-fit")
@click.option("--weeks", default=8, show_default=True, type=click.IntRange(1, 52), help="How many weeks back.")
@click.option("--team", help="One team (default: the whole org).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]), help="Judge up to this day (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print the table and recommendations as JSON.")
@common
def model_fit(runtime: Runtime, weeks: int, team: str | None, as_of: Any, as_json: bool) -> None:
    """Which model tier each work class should default to, from the org's own evidence (estimates)."""
    from bot.finops.model_fit import model_fit as judge_fit
    from bot.reads.work import end_of

    with session_scope(runtime.engine) as session:
        report = judge_fit(session, runtime.config, runtime.prices, team, weeks, end_of(as_of))
    click.echo(json.dumps(report.as_json(), indent=2) if as_json else "\n".join(report.lines()))


@cli.group()
def digest() -> None:
    """The weekly team digest."""


@digest.command()
@click.option("--team", required=True, help="Team name from the config.")
@click.option("--week", "week_text", required=True, metavar="YYYY-Www", help="ISO week, for example 2026-W47.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Directory for blocks.json and charts.")
@click.option("--json", "as_json", is_flag=True, help="Print the digest's data as JSON instead of text.")
@common
def preview(runtime: Runtime, team: str, week_text: str, out: Path, as_json: bool) -> None:
    """Render a team's digest (Block Kit JSON, PNG charts, text) without posting it."""
    from bot.slack.preview import write_preview

    digest = write_preview(runtime, team, Week.parse(week_text), out)
    if as_json:
        click.echo(json.dumps(digest.as_json(), indent=2))
    else:
        from bot.digest.text import digest_text

        click.echo(digest_text(digest))
        click.echo(f"\nWrote {out}/blocks.json and charts to {out}/")


@digest.command()
@click.option("--week", "week_text", metavar="YYYY-Www",
              help="ISO week (default: the week that just ended for each team).")
@click.option("--team", help="Only this team (default: every team).")
@click.option("--force", is_flag=True, help="Post again even if this week was already posted (or is stuck).")
@common
def send(runtime: Runtime, week_text: str | None, team: str | None, force: bool) -> None:
    """Post the weekly digest to each team's Slack channel now (exactly once unless --force)."""
    from bot.digest.send import send_digest, week_just_ended
    from bot.errors import UsageError
    from bot.slack.client import web_client
    from bot.slack.poster import SlackPoster

    config = runtime.config
    teams = [t for t in config.teams if team is None or t.name == team]
    if not teams:
        raise UsageError(f"unknown team {team!r}")
    prepare(runtime)
    poster = SlackPoster(web_client(runtime.settings))
    results = [
        send_digest(runtime, t.name, Week.parse(week_text) if week_text else week_just_ended(t.timezone), poster, force)
        for t in teams
    ]
    for r in results:
        click.echo(f"{r.team} {r.week} {r.platform}: {r.state}{' - ' + r.detail if r.detail else ''}")
    sys.exit(1 if any(r.state in ("pending", "failed") for r in results) else 0)


@digest.command()
@common
def status(runtime: Runtime) -> None:
    """Each team's latest digests: state, message link, and what needs attention."""
    from bot.digest.ledger import statuses

    rows = statuses(runtime.engine)
    if not rows:
        click.echo("No digest has been sent yet.")
    for row in rows:
        link = row["permalink"] or row["message_ts"] or ""
        line = f"{row['team']:<16} {row['week']} {row['platform']:<6} {row['state']:<8} {link}"
        click.echo(line.rstrip())
        if row["attention"]:
            click.echo(f"  needs attention: {row['attention']}")


@cli.command()
@click.option("--socket", "mode", flag_value="socket", help="Slack over Socket Mode (needs SLACK_APP_TOKEN).")
@click.option("--http", "mode", flag_value="http",
              help="Slack over HTTP at /slack/events, plus /webhooks/github and /healthz.")
@click.option("--teams", "mode", flag_value="teams", help="Microsoft Teams at /api/messages.")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on (HTTP and Teams).")
@click.option("--port", default=3000, show_default=True, help="Port to listen on (HTTP and Teams).")
@common
def serve(runtime: Runtime, mode: str | None, host: str, port: int) -> None:
    """Run the bot: slash commands, App Home, webhooks, and the weekly digest and daily pull schedule."""
    from bot.serve.run import serve_forever

    serve_forever(runtime, mode or "socket", host, port)


@cli.command(name="demo-data")
@click.option("--people", default=24, show_default=True, help="How many people (teams of 6 to 8).")
@click.option("--weeks", default=8, show_default=True, help="How many ISO weeks of history.")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same files.")
@click.option("--end-week", metavar="YYYY-Www", help="Last week of data (default: the last full week).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Directory to write into.")
def demo_data(people: int, weeks: int, seed: int, end_week: str | None, out: Path) -> None:
    """Generate a deterministic demo org in the vendors' own file formats."""
    from bot.demo.run import DemoSpec, write_demo_org

    try:
        spec = DemoSpec(people=people, weeks=weeks, seed=seed, end_week=Week.parse(end_week) if end_week else None)
        summary = write_demo_org(spec, out)
    except TokenworthError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(summary)


@cli.command(name="demo")
@click.option("--out", "out", default="out", show_default=True, type=click.Path(path_type=Path),
              help="Where previews go.")
@click.option("--data", "data", default="demo-data", show_default=True, type=click.Path(path_type=Path),
              help="Where the generated feed files go.")
@common
def demo_command(runtime: Runtime, out: Path, data: Path) -> None:
    """Run the main job on a generated org: generate, ingest, preview every digest, answer one `me`."""
    from bot.demo.run import run_demo

    run_demo(runtime, out, data, echo=click.echo)


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

    _prepare_for_ingest(runtime)
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
    result = purge_old(runtime.engine, days)
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


def _progress() -> Callable[[int], None]:
    """A running count of records on the terminal, for long ingests."""
    seen = [0]

    def advance(records: int) -> None:
        seen[0] += records
        click.echo(f"\r  {seen[0]:,} records ingested", nl=False, err=True)

    return advance


def _prepare_for_ingest(runtime: Runtime) -> OrgConfig | None:
    """Migrate; ingest works without a config, but when one exists it must be valid and identities follow it."""
    if Path(runtime.config_path).exists():
        prepare(runtime)
        return runtime.config
    migrate(runtime.database)
    if runtime.config_path != runtime.settings.tokenworth_config:
        raise ConfigError(f"{runtime.config_path}: config file not found")
    return None


def main() -> None:
    cli(prog_name="tokenworth")
