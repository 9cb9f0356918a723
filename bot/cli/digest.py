"""The weekly team digest: preview, send, status."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli.base import cli, common
from bot.core.weeks import Week
from bot.people.directory import prepare
from bot.runtime import Runtime


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
@click.option("--week", "week_text", metavar="YYYY-Www",
              help="ISO week (default: the week that just ended in admin_channel's time zone, else UTC).")
@click.option("--out", "out", type=click.Path(path_type=Path), help="Also write blocks.json and admin.json here.")
@click.option("--send", "send_it", is_flag=True, help="Post it to admin_channel's Slack channel (exactly once).")
@click.option("--force", is_flag=True, help="With --send: post again even if this week was already posted.")
@click.option("--json", "as_json", is_flag=True, help="Print the admin digest's data as JSON instead of text.")
@common
def admin(runtime: Runtime, week_text: str | None, out: Path | None, send_it: bool, force: bool,
          as_json: bool) -> None:
    """The weekly admin digest: unattributed spend, unmapped identities, vendors' bills, each feed's reach."""
    from bot.digest.admin import admin_text, load_admin_digest
    from bot.digest.send import week_just_ended
    from storage.engine import session_scope

    zone = runtime.config.admin_channel.timezone if runtime.config.admin_channel else "UTC"
    week = Week.parse(week_text) if week_text else week_just_ended(zone)
    if out is not None:
        from bot.slack.preview import write_admin_preview

        write_admin_preview(runtime, week, out)
    with session_scope(runtime.engine) as session:
        shown = load_admin_digest(session, runtime.config, runtime.prices, week)
    click.echo(json.dumps(shown.as_json(), indent=2) if as_json else admin_text(shown))
    if send_it:
        from bot.digest.send import send_admin_digest
        from bot.slack.client import web_client
        from bot.slack.poster import SlackPoster

        prepare(runtime)
        r = send_admin_digest(runtime, week, SlackPoster(web_client(runtime.settings)), force)
        click.echo(f"admin digest {r.week} {r.platform}: {r.state}{' - ' + r.detail if r.detail else ''}")
        sys.exit(1 if r.state in ("pending", "failed") else 0)


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
