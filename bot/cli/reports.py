"""Reports: every chat command for one person (`me`, `trend`, `team`, `preview`, `privacy`, `kudos`),
reconciliation, model fit.

Invariant: the chat commands here are the chat's: the same words go through the same parser and the same
core call (bot.answers.commands.answer), so `tokenworth me --email E 4w` answers what `/tokenworth me 4w` does.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from bot.answers.as_json import answer_json
from bot.answers.commands import answer
from bot.answers.text import plain
from bot.answers.types import NotLinked, Refusal, UsageProblem
from bot.cli.base import cli, common
from bot.core.weeks import Week
from bot.errors import UnknownPerson, UsageError
from bot.runtime import Runtime
from storage.engine import session_scope

EMAIL = click.option("--email", required=True, help="Whose answer: the person's email address (the asker).")
JSON = click.option("--json", "as_json", is_flag=True, help="Print the answer's data as JSON.")
WEEK_HELP = "this-week, last-week, YYYY-Www (for example 2026-W47) or Nw (for example 4w), as in the chat commands."


@cli.command()
@EMAIL
@click.argument("period", required=False, metavar="[WEEK]")
@click.option("--week", "week_text", metavar="YYYY-Www", help="ISO week (the same as giving it as WEEK).")
@JSON
@common
def me(runtime: Runtime, email: str, period: str | None, week_text: str | None, as_json: bool) -> None:
    """One person's week or weeks, as `/tokenworth me [WEEK]` answers them. WEEK: this-week, last-week,
    YYYY-Www or Nw; without it, the current week once it has data, else the last full week."""
    if period and week_text:
        raise UsageError("give the week once: as WEEK or as --week")
    if week_text:
        period = str(Week.parse(week_text))  # the one-line error for a malformed --week
    _reply(runtime, email, ["me", *([period] if period else [])], as_json)


@cli.command()
@EMAIL
@JSON
@common
def trend(runtime: Runtime, email: str, as_json: bool) -> None:
    """One person's last 8 weeks, as `/tokenworth trend` answers them (numbers only; the chat adds a chart)."""
    _reply(runtime, email, ["trend"], as_json)


@cli.command()
@EMAIL
@click.argument("words", nargs=-1, metavar="[NAME] [WEEK]")
@JSON
@common
def team(runtime: Runtime, email: str, words: tuple[str, ...], as_json: bool) -> None:
    """A team's digest for one of its configured managers (--email), as `/tokenworth team [NAME] [WEEK]`.
    Logged in the access log like the chat command, and published the first time the week is shown."""
    if len(words) > 2:
        raise UsageError("team takes at most a team name and a week")
    _reply(runtime, email, ["team", *words], as_json)


@cli.command(name="preview")
@EMAIL
@JSON
@common
def preview_command(runtime: Runtime, email: str, as_json: bool) -> None:
    """What last week's manager digest shows about this person, as `/tokenworth preview`."""
    _reply(runtime, email, ["preview"], as_json)


@cli.command()
@EMAIL
@JSON
@common
def privacy(runtime: Runtime, email: str, as_json: bool) -> None:
    """What is stored about this person and where figures including them were shown, as `/tokenworth privacy`."""
    _reply(runtime, email, ["privacy"], as_json)


@cli.command()
@EMAIL
@click.argument("switch", type=click.Choice(["on", "off"]))
@common
def kudos(runtime: Runtime, email: str, switch: str) -> None:
    """Opt this person in or out of being named for what they shipped, as `/tokenworth kudos on|off`."""
    _reply(runtime, email, ["kudos", switch], False)


def _reply(runtime: Runtime, email: str, words: list[str], as_json: bool) -> None:
    """The chat command's answer (the same parser and core call), as text or JSON; refusals exit 1."""
    runtime.config  # noqa: B018 - a missing or invalid config is reported before the database is opened
    reply = answer(runtime, email, " ".join(words), prefix="tokenworth")
    if isinstance(reply, UsageProblem):
        raise UsageError(plain(reply.problem))
    if isinstance(reply, NotLinked):
        raise UnknownPerson(f"{email} is not in the directory: add them to the config's people")
    if isinstance(reply, Refusal):
        click.echo(f"error: {reply.text}", err=True)
        sys.exit(1)
    click.echo(json.dumps(answer_json(reply), indent=2, default=str) if as_json else reply.text)


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
