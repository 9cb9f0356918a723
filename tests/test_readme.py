"""The README stays honest: every setting and every command is documented, and the quick start is two commands."""

from __future__ import annotations

import re

from bot.cli import cli
from bot.config.settings import DOCUMENTED, Settings
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_quick_start_is_exactly_make_demo_and_make_test() -> None:
    section = README.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    assert block[1].strip().splitlines() == ["make demo", "make test"]


def test_every_setting_is_documented() -> None:
    assert set(DOCUMENTED) == {name.upper() for name in Settings.model_fields}
    for variable in DOCUMENTED:
        assert f"`{variable}`" in README, f"README misses setting {variable}"


def test_every_command_is_documented() -> None:
    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}"

    for command in walk(cli, "tokenworth "):
        assert f"`{command}" in README, f"README misses command {command}"


def test_every_slash_command_is_documented() -> None:
    from bot.answers.commands import HELP

    for usage in HELP:
        assert f"`/tokenworth {usage.split()[0]}" in README, f"README misses /tokenworth {usage}"
