"""Running the bot and the demo."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.cli.base import cli, common
from bot.core.weeks import Week
from bot.errors import TokenworthError
from bot.runtime import Runtime


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
