"""The `tokenworth` command line: a thin adapter over the core, like the Slack and Teams ones.

One module per group of commands; importing them registers each command on the one click group.
"""

from __future__ import annotations

from bot.cli import admin, digest, feeds, finops, reports, run
from bot.cli.base import cli

__all__ = ["admin", "cli", "digest", "feeds", "finops", "main", "reports", "run"]


def main() -> None:
    cli(prog_name="tokenworth")
