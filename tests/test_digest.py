"""Digest previews: valid Block Kit, real PNG charts, figures that add up, and nobody ranked or named."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine

from bot.answers.me import me_report
from bot.config.org import load_config
from bot.config.settings import Settings
from bot.core.weeks import Week
from bot.demo.run import DemoSpec, write_demo_org
from bot.digest.build import load_digest
from bot.digest.format import money, share
from bot.digest.text import digest_text
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.slack.blocks import digest_blocks
from bot.slack.preview import write_preview
from storage.engine import session_scope
from tests.conftest import EXAMPLE_CONFIG, FIXTURES

WEEK = Week.parse("2026-W47")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("demo")
    write_demo_org(DemoSpec(people=18, weeks=8, seed=3, end_week=WEEK), root / "data")
    runtime = Runtime(Settings(), f"sqlite:///{root / 'demo.db'}", str(root / "data" / "tokenworth.yml"))
    prepare(runtime)
    ingest_paths(runtime.engine, [root / "data" / "feeds"])
    return runtime


def forbidden_words(runtime: Runtime) -> set[str]:
    """Everything that would identify a person."""
    words = set()
    for person in runtime.config.people:
        words |= {person.email, person.name or person.email, *person.aliases.get("github", ())}
    return words


def test_preview_writes_valid_block_kit_and_png_charts(demo: Runtime, tmp_path: Path) -> None:
    digest = write_preview(demo, "platform", WEEK, tmp_path)
    message = json.loads((tmp_path / "blocks.json").read_text())
    for raw_blocks in (message["blocks"], message["thread"]["blocks"]):
        blocks = Block.parse_all(raw_blocks)
        assert 0 < len(blocks) == len(raw_blocks) <= 50
        for block, raw in zip(blocks, raw_blocks, strict=True):
            block.validate_json()
            assert block.to_dict() == raw
            assert len(raw.get("text", {}).get("text", "")) <= 3000
    assert message["text"].startswith("tokenworth weekly digest for platform, 2026-W47")
    charts = sorted(tmp_path.glob("*.png"))
    assert [c.name for c in charts] == ["spend_by_model.png", "yield_trend.png"]
    assert all(c.read_bytes().startswith(PNG) and c.stat().st_size > 5000 for c in charts)
    assert not digest.suppressed and digest.current.people_active >= 5


def test_digest_names_and_ranks_nobody(demo: Runtime, tmp_path: Path) -> None:
    for team in demo.config.teams:
        digest = write_preview(demo, team.name, WEEK, tmp_path / team.name)
        shown = (tmp_path / team.name / "blocks.json").read_text() + digest_text(digest)
        assert not {w for w in forbidden_words(demo) if w.lower() in shown.lower()}


def test_digest_figures_equal_the_sum_of_members_me(demo: Runtime) -> None:
    config = demo.config
    with session_scope(demo.engine) as session:
        for team in config.teams:
            digest = load_digest(session, config, demo.prices, team.name, WEEK)
            mine = [me_report(session, config, demo.prices, p.email, WEEK).figures for p in config.members(team.name)]
            assert digest.current.spend_usd == pytest.approx(sum(m.spend_usd for m in mine))
            assert digest.current.outcome_points == pytest.approx(sum(m.outcome_points for m in mine))
            assert digest.current.people_active == sum(m.active for m in mine)
            # Savings are a figure over the people who used frontier models: shown (and then equal to the sum)
            # only with the frontier tier's spend, which is shown only when its users and the rest of the team
            # each number at least 5, or are everyone; otherwise withheld with the reason recorded.
            if digest.savings_usd is not None:
                assert digest.savings_usd == pytest.approx(sum(m.savings_usd for m in mine))
            else:
                assert digest.current.sheet is not None and digest.current.sheet.reason("savings_usd") is not None
                assert digest.figure("tier:frontier") is None


def test_team_below_the_privacy_floor_shows_no_figures(sqlite_engine: Engine, tmp_path: Path) -> None:
    runtime = Runtime(Settings(), str(sqlite_engine.url), str(EXAMPLE_CONFIG))
    prepare(runtime)
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    digest = write_preview(runtime, "platform", WEEK, tmp_path)
    data = digest.as_json()
    assert data["suppressed"] is True
    assert all(
        data[k] is None for k in ("people_active", "spend_usd", "outcome_points", "yield_per_100usd", "savings_usd")
    )
    text = json.dumps(json.loads((tmp_path / "blocks.json").read_text()))
    assert "No team figures this week" in text and "merge small teams" in text
    assert "$" not in text
    assert not list(tmp_path.glob("*.png"))


def test_history_hides_weeks_with_too_few_people(demo: Runtime) -> None:
    with session_scope(demo.engine) as session:
        digest = load_digest(session, demo.config, demo.prices, "platform", WEEK.shift(3))
    assert digest.suppressed and not digest.has_data
    assert [h.shown for h in digest.history][-3:] == [False, False, False]
    blocks = digest_blocks(digest)
    assert "No team figures" in json.dumps(blocks)


def test_unknown_team_is_a_usage_error(demo: Runtime) -> None:
    from bot.errors import UsageError

    with session_scope(demo.engine) as session, pytest.raises(UsageError, match="unknown team 'nope'"):
        load_digest(session, demo.config, demo.prices, "nope", WEEK)


def test_demo_config_has_teams_of_at_least_five(demo: Runtime) -> None:
    config = load_config(demo.config_path)
    assert all(len(config.members(t.name)) >= 5 for t in config.teams)


def test_charts_render_the_same_from_several_threads(demo: Runtime) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from bot.digest.charts import charts_for

    with session_scope(demo.engine) as session:
        digests = [load_digest(session, demo.config, demo.prices, t.name, WEEK) for t in demo.config.teams]
    alone = [charts_for(d) for d in digests]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(charts_for, digests * 2))
    assert together == alone * 2


def test_every_amount_in_a_digest_is_a_disclosed_figure(demo: Runtime) -> None:
    """Digest lines are built from figures only: each dollar amount and percentage shown is one of them."""
    with session_scope(demo.engine) as session:
        digests = [load_digest(session, demo.config, demo.prices, t.name, WEEK) for t in demo.config.teams]
    for digest in digests:
        sheets = [view.sheet for view in digest.history if view.sheet is not None]
        figures = [f for sheet in sheets for f in sheet.figures]
        allowed = {money(f.value) for f in figures} | {money(digest.spend_without_outcomes_usd)}
        text = digest_text(digest)
        assert set(re.findall(r"\$[\d,]+\.\d\d", text)) <= allowed
        shares = {share(f.value) for f in figures if f.key == "frontier_share"}
        assert set(re.findall(r"share of spend: (\d+%)", text)) <= shares


def test_freshness_gives_each_used_feeds_last_data_day_not_ingest_times(demo: Runtime) -> None:
    from bot.digest.reach import OTHER, data_reach
    from bot.digest.summary import freshness_line

    with session_scope(demo.engine) as session:
        org = data_reach(session)
        digests = [load_digest(session, demo.config, demo.prices, t.name, WEEK) for t in demo.config.teams]
    assert org["tool:claude_code"] == WEEK.end - timedelta(days=1)  # the demo's last day, a Sunday
    for digest in digests:
        line = freshness_line(digest)
        assert line.startswith("Data through: Claude Code ") and "UTC" not in line and "ingest" not in line
        assert all(day == org[feed] for feed, day in digest.reach.items() if feed != OTHER)
        assert "Data days from" in line and "are provisional" in line
