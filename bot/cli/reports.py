"""Read-only reports: one person's week, reconciliation, model fit."""

from __future__ import annotations

import json
from typing import Any

import click

from bot.answers.me import me_report
from bot.answers.text import me_text
from bot.cli.base import cli, common
from bot.core.weeks import Week
from bot.runtime import Runtime
from storage.engine import session_scope


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
