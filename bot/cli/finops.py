"""FinOps commands: the month's cost by group, and the FOCUS export."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot.cli.base import cli, common
from bot.runtime import Runtime
from storage.engine import session_scope


@cli.command()
@click.option("--month", required=True, metavar="YYYY-MM", help="Calendar month (UTC), for example 2026-11.")
@click.option("--by", "by_text", default="team", show_default=True, metavar="DIMENSIONS",
              help="Comma-separated: team, workflow, model, provider (who bills it), tool.")
@click.option("--json", "as_json", is_flag=True, help="Print the groups, totals and workflows as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the groups as CSV.")
@common
def finops(runtime: Runtime, month: str, by_text: str, as_json: bool, as_csv: bool) -> None:
    """The month's AI cost per group: metered, fixed (seats) and billed, and each workflow's cost per outcome."""
    from bot.finops.report import dimensions, finops_report

    by = dimensions(by_text)
    with session_scope(runtime.engine) as session:
        report = finops_report(session, runtime.config, runtime.prices, month, by)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    elif as_csv:
        click.echo(report.csv_text(), nl=False)
    else:
        click.echo("\n".join(report.lines()))


@cli.group()
def export() -> None:
    """Export tokenworth's costs for other tools."""


@export.command(name="focus")
@click.option("--month", required=True, metavar="YYYY-MM", help="Calendar month (UTC), for example 2026-11.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="CSV file to write.")
@common
def export_focus_command(runtime: Runtime, month: str, out: Path) -> None:
    """A FinOps FOCUS 1.3 CSV of the month's counted-once costs (usage and seats), team and workflow in Tags."""
    from bot.finops.export import export_focus

    with session_scope(runtime.engine) as session:
        totals = export_focus(session, runtime.config, runtime.prices, month, out)
    click.echo(f"wrote {out}: " + (", ".join(f"{p} ${a:,.2f}" for p, a in sorted(totals.items())) or "no costs"))
