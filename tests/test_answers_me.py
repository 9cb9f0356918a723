"""`me` at a glance: its wording (one short tokens line, the band in one line, tips naming the model and the
setting, a positive note only from the disclosed team middle, no line saying zero) and its layout on every
surface (Block Kit header and fields, an Adaptive Card FactSet, App Home with one privacy footer)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from slack_sdk.models.blocks import Block

from bot.answers.me import me_of
from bot.answers.sheet import me_sheet, short_tokens
from bot.answers.text import me_text
from bot.answers.types import Home, MeAnswer, TrendAnswer
from bot.config.org import Policy
from bot.core.metrics import PersonWeek
from bot.core.prices import Tokens
from bot.msteams.cards import answer_card
from bot.reads.person_weeks import AskerWeeks, TeamWeeks
from bot.slack.render import PRIVATE_NOTE, answer_blocks, home_blocks
from tests.test_me import W47, asker_in_a_team_of
from tests.test_teams_cards import assert_valid_card, card_texts

ZERO = re.compile(r"(?<![\d.,])0 (merged|reverted|tickets?|PRs?|outcome|seats?)|\$0\.00|: 0%")


def with_week(read: AskerWeeks, person: int, figures: PersonWeek) -> AskerWeeks:
    weeks = {**read.team.figures, (person, str(W47)): figures}
    return AskerWeeks(read.person, read.person_id, TeamWeeks(read.team.members, read.team.weeks, weeks))


def frontier_heavy(tools: dict[str, float]) -> PersonWeek:
    """$100 on Opus through `tools`, 1 point: a yield of 1 in a team whose middle is far higher."""
    return PersonWeek(
        str(W47), spend_usd=100.0, outcome_points=1.0, active=True, spend_by_tier={"frontier": 100.0},
        spend_by_tool=tools, frontier_by_model={"claude-opus-4-6": 100.0},
        model_providers={"claude-opus-4-6": "anthropic"}, savings_usd=40.0,
        tokens=Tokens(input=20_000_000, output=1_000_000, cache_read=180_000_000, cache_write=12_700_000),
    )


def test_tokens_are_one_short_line_with_the_share_of_cache_reads() -> None:
    figures = frontier_heavy({"claude_code": 100.0})
    assert short_tokens(figures) == "213.7 M tokens, 84% cache reads"
    assert short_tokens(PersonWeek("w", tokens=Tokens(input=900))) == "900 tokens"  # no "0% cache reads"
    assert short_tokens(PersonWeek("w", tokens=Tokens(input=1))) == "1 token"
    report = me_of(with_week(asker_in_a_team_of(5, 0), 0, figures), W47, Policy())
    assert "Tokens: 213.7 M tokens, 84% cache reads" in me_text(report).splitlines()


def test_no_line_says_zero() -> None:
    quiet = PersonWeek(str(W47), spend_usd=3.0, outcome_points=3.0, active=True)
    quiet.outcomes["pr_merged"] = 1.0
    text = me_text(me_of(with_week(asker_in_a_team_of(5, 0), 0, quiet), W47, Policy()))
    assert "Outcomes: 1 merged PR → 3 outcome points" in text
    assert "reverted" not in text and "ticket" not in text and "Tokens" not in text and "saved" not in text
    assert not ZERO.search(text), text


def test_the_band_is_explained_in_one_line() -> None:
    text = me_text(me_of(asker_in_a_team_of(15, asker=14), W47, Policy()))
    [band] = [line for line in text.splitlines() if "band" in line.lower()]
    assert band.startswith("Band: your yield of 15.0 per $100 is in the upper band (the 5 highest of 15)")
    assert band.endswith("each holding at least 5 people; nobody is ranked.")


@pytest.mark.parametrize(("size", "asker", "noted"), [
    (15, 14, True),  # the top yield of a team with bands
    (7, 3, True),  # exactly the middle (yields 1..7: the middle three's mean is 4, the asker's is 4)
    (7, 2, False),  # just below
    (4, 3, False),  # the team is below the floor: no middle is disclosed, so no note either
])
def test_a_positive_note_only_at_or_above_the_disclosed_team_middle(size: int, asker: int, noted: bool) -> None:
    report = me_of(asker_in_a_team_of(size, asker), W47, Policy())
    assert ("Nice work: your yield is at or above your team's middle" in me_text(report)) is noted
    assert report.as_json()["at_or_above_team_middle"] is noted


def test_the_positive_note_follows_the_disclosed_middle_not_one_computed_around_the_floor() -> None:
    read = asker_in_a_team_of(6, asker=5)
    quiet = {k: dataclasses.replace(v, active=False, spend_usd=0.0, outcome_points=0.0)
             for k, v in read.team.figures.items() if k[0] in (0, 1)}  # two inactive: 4 yields, below the floor
    report = me_of(AskerWeeks(read.person, 5, TeamWeeks(read.team.members, read.team.weeks,
                                                          {**read.team.figures, **quiet})), W47, Policy())
    assert report.team is not None and report.team.median_yield_per_100usd is None
    assert "Nice work" not in me_text(report)


@pytest.mark.parametrize(("tools", "says", "not_says"), [
    ({"claude_code": 100.0}, ['"/model claude-sonnet-4-6", or set "model" to "claude-sonnet-4-6" in settings.json'],
     ["Cursor", "LiteLLM"]),
    ({"cursor": 100.0}, ["in Cursor, make claude-sonnet-4-6 the default model"], ["/model", "LiteLLM"]),
    ({"litellm": 100.0}, ['point your LiteLLM model alias at "claude-sonnet-4-6"'], ["/model", "Cursor"]),
])
def test_the_frontier_tip_names_the_model_and_the_setting_of_the_tools_used(tools, says, not_says) -> None:
    report = me_of(with_week(asker_in_a_team_of(7, 0), 0, frontier_heavy(tools)), W47, Policy())
    assert [f.name for f in report.flags] == ["frontier_heavy", "spend_without_outcomes"][:len(report.flags)]
    [tip] = [line for line in me_text(report).splitlines() if line.startswith("⚑ 100% of your spend")]
    assert "Tip: default to claude-sonnet-4-6 instead of claude-opus-4-6" in tip
    assert all(s in tip for s in says) and not any(s in tip for s in not_says), tip
    assert "up to $40.00 less (a ceiling, not a saving" in tip
    assert me_text(report).count("$40.00") == 1  # the ceiling once, beside what to change


def test_slack_shows_me_as_a_header_fields_and_one_footer() -> None:
    report = me_of(with_week(asker_in_a_team_of(15, 14), 14, frontier_heavy({"claude_code": 100.0})), W47, Policy())
    blocks = answer_blocks(MeAnswer((report,)))
    Block.parse_all(blocks)
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "P14 · week 2026-W47"}}
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields[:2] == ["*AI spend*\n$100.00", "*Tokens*\n213.7 M tokens, 84% cache reads"]
    assert "*Yield*\n1.0 points per $100" in fields
    assert json.dumps(blocks).count(PRIVATE_NOTE) == 1 and blocks[-1]["type"] == "context"
    sheet = me_sheet(report)
    assert len(fields) == len(sheet.facts) <= 10


def test_app_home_has_the_privacy_footer_once() -> None:
    report = me_of(asker_in_a_team_of(5, 0), W47, Policy())
    blocks = home_blocks(Home(MeAnswer((report,)), TrendAnswer((report.figures,))))
    Block.parse_all(blocks)
    assert json.dumps(blocks).count(PRIVATE_NOTE) == 1 and blocks[-1]["type"] == "context"
    assert blocks[0]["type"] == "header" and any(b["type"] == "divider" for b in blocks)


def test_teams_shows_me_as_a_fact_set_in_a_valid_card() -> None:
    report = me_of(with_week(asker_in_a_team_of(7, 0), 0, frontier_heavy({"cursor": 100.0})), W47, Policy())
    card = answer_card(MeAnswer((report,)))
    assert_valid_card(card)
    [facts] = [e for e in card["body"] if e["type"] == "FactSet"]
    assert {"title": "Tokens", "value": "213.7 M tokens, 84% cache reads"} in facts["facts"]
    assert any("in Cursor, make **claude-sonnet-4-6** the default model" in t or
               "in Cursor, make claude-sonnet-4-6 the default model" in t for t in card_texts(card))


def test_a_week_without_data_says_so_once_instead_of_zeros() -> None:
    read = asker_in_a_team_of(5, 0)
    empty = with_week(read, 0, PersonWeek(str(W47)))
    text = me_text(me_of(empty, W47, Policy()))
    assert text.splitlines() == ["P0 · week 2026-W47", "No AI usage and no outcomes of yours reached tokenworth for "
                                 "this week (feeds can lag a day or two)."]
    blocks = answer_blocks(MeAnswer((me_of(empty, W47, Policy()),)))
    Block.parse_all(blocks)
    assert [b["type"] for b in blocks] == ["header", "section", "context"]
    assert_valid_card(answer_card(MeAnswer((me_of(empty, W47, Policy()),))))


def test_a_period_says_which_weeks_had_no_data_instead_of_zeros() -> None:
    from bot.answers.me import MeReport
    from bot.answers.text import period_text

    active = PersonWeek("2026-W46", spend_usd=100.0, outcome_points=1.0, active=True)
    text = period_text((MeReport("p@acme.test", "P", W47.shift(-1), active, None),
                        MeReport("p@acme.test", "P", W47, PersonWeek(str(W47)), None)))
    assert "2026-W47: no data about you" in text and "2026-W46: $100.00 spend, 1 point" in text
    assert "$0.00" not in text and "0 points" not in text


def test_an_active_week_without_spend_says_no_ai_spend_instead_of_zero_dollars() -> None:
    from bot.answers.me import MeReport
    from bot.answers.text import period_text

    idle = PersonWeek("2026-W46", outcome_points=2.0, active=True)
    text = period_text((MeReport("p@acme.test", "P", W47.shift(-1), idle, None),
                        MeReport("p@acme.test", "P", W47, PersonWeek(str(W47)), None)))
    assert "2026-W46: no AI spend, 2 points" in text and "$0.00" not in text


def test_seat_cost_is_a_fact_of_its_own_only_when_there_is_one() -> None:
    from bot.answers.me import MeReport

    figures = PersonWeek(str(W47), spend_usd=10.0, outcome_points=3.0, active=True)
    with_seat = me_text(MeReport("p@acme.test", "P", W47, figures, None, seat_cost_usd=4.38))
    assert "Seats: $4.38 (subscriptions, prorated per day)" in with_seat.splitlines()
    assert "Seats" not in me_text(MeReport("p@acme.test", "P", W47, figures, None))
