"""Explicit side effects: read-only commands never write; `unattributed` is read one way everywhere."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.conftest import EXAMPLE_CONFIG, FIXTURES

WEEK = "2026-W47"
FEEDS = ["anthropic_usage_report.json", "anthropic_usage_report.page2.json", "claude_code_analytics.json",
         "openai_usage_completions.json", "litellm_spend_logs.json", "github_pulls.json"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def dump(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return list(connection.iterdump())


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    db = tmp_path / "acme.db"
    common = ("--db", f"sqlite:///{db}", "--config", str(EXAMPLE_CONFIG))
    code, output = run("ingest", *[str(FIXTURES / name) for name in FEEDS], *common)
    assert code in (0, 1), output
    return db, common


@pytest.mark.parametrize("command", [
    ("me", "--email", "cara@acme.test", "--week", WEEK),
    ("me", "--email", "cara@acme.test", "--week", WEEK, "--json"),
    ("identities",),
    ("identities", "--unmapped"),
    ("reconcile", "--week", WEEK),
    ("digest", "status"),
])
def test_read_only_commands_change_nothing_in_the_database(ingested: tuple[Path, tuple[str, ...]],
                                                           command: tuple[str, ...]) -> None:
    db, common = ingested
    before = dump(db)
    code, output = run(*command, *common)
    assert code == 0, output
    assert dump(db) == before


def test_digest_preview_changes_nothing_in_the_database(ingested: tuple[Path, tuple[str, ...]], tmp_path: Path) -> None:
    db, common = ingested
    before = dump(db)
    code, output = run("digest", "preview", "--team", "platform", "--week", WEEK, "--out", str(tmp_path / "p"), *common)
    assert code == 0, output
    assert dump(db) == before


def test_a_read_only_command_on_an_unmigrated_database_says_so_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    code, output = run("me", "--email", "cara@acme.test", "--week", WEEK, "--db", f"sqlite:///{db}",
                       "--config", str(EXAMPLE_CONFIG))
    assert code == 2
    assert "has no tokenworth schema yet" in output and "tokenworth db upgrade" in output
    assert dump(db) == [] or all("CREATE TABLE" not in line for line in dump(db))


def test_a_config_change_reaches_the_directory_only_at_a_write_point(ingested: tuple[Path, tuple[str, ...]],
                                                                     tmp_path: Path) -> None:
    db, common = ingested
    config = EXAMPLE_CONFIG.read_text().replace("cara@acme.test", "cara.chen@acme.test")
    changed = tmp_path / "changed.yml"
    changed.write_text(config)
    before = dump(db)
    code, _ = run("identities", "--db", f"sqlite:///{db}", "--config", str(changed))
    assert code == 0 and dump(db) == before
    code, output = run("db", "upgrade", "--db", f"sqlite:///{db}", "--config", str(changed))
    assert code == 0, output
    code, output = run("ingest", str(FIXTURES / "github_pulls.json"),
                       "--db", f"sqlite:///{db}", "--config", str(changed))
    assert code in (0, 1), output
    assert any("cara.chen@acme.test" in line for line in dump(db))


def test_identities_unmapped_and_the_digest_agree_on_unattributed_dollars(
    ingested: tuple[Path, tuple[str, ...]],
) -> None:
    from bot.config.org import load_config
    from bot.core.prices import PriceTable
    from bot.core.weeks import Week
    from bot.digest.build import unattributed_spend
    from bot.people.identities import unmapped_lines
    from storage import make_engine, session_scope

    db, _common = ingested
    config = load_config(EXAMPLE_CONFIG)
    prices = PriceTable.builtin(config.prices)
    week = Week.parse(WEEK)
    sunday = week.end.fromordinal(week.end.toordinal() - 1)
    with session_scope(make_engine(f"sqlite:///{db}")) as session:
        digest_dollars = unattributed_spend(session, config, prices, week)
        lines = unmapped_lines(session, prices, config.gateways, days=6, today=sunday)
    listed = sum(float(line.split("$")[1].split()[0].replace(",", "")) for line in lines)
    assert digest_dollars > 0
    assert listed == pytest.approx(digest_dollars, abs=0.005 * len(lines) + 1e-9)
