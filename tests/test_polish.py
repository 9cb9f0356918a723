"""What a person meets: `me`, `trend` and App Home on a Monday, and plurals in answers and digests.

The sample org's data ends in 2026-W47, so on the Monday of 2026-W48 the current week is empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.answers.commands import answer, home
from bot.answers.me import MeReport
from bot.answers.text import lines, me_text, period_text, plain
from bot.answers.types import Home, MeAnswer, TrendAnswer
from bot.config.settings import Settings
from bot.core.metrics import PersonWeek
from bot.core.weeks import Week
from bot.digest.build import load_digest
from bot.digest.format import plural
from bot.digest.text import digest_text
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from storage.engine import session_scope
from tests.conftest import EXAMPLE_CONFIG, FIXTURES

IN_W47 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday of 2026-W47, which has data
MONDAY_W48 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # 2026-W48 has no data yet
ANA = "ana@acme.test"
WRONG_NUMBER = re.compile(r"(?<![\d.,])1 (people|persons|models|seats|PRs|tickets|points|outcome points|pages|days)\b"
                          r"|\(s\)")


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("polish")
    runtime = Runtime(Settings(), f"sqlite:///{root / 'acme.db'}", str(EXAMPLE_CONFIG))
    prepare(runtime)
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    return runtime


def weeks_of(reply: object) -> list[str]:
    if isinstance(reply, MeAnswer):
        return [str(r.week) for r in reply.reports]
    assert isinstance(reply, TrendAnswer)
    return [w.week for w in reply.weeks]


def test_me_on_a_monday_shows_the_last_full_week(acme: Runtime) -> None:
    assert weeks_of(answer(acme, ANA, "me", now=MONDAY_W48)) == ["2026-W47"]
    assert weeks_of(answer(acme, ANA, "me", now=IN_W47)) == ["2026-W47"]
    assert answer(acme, ANA, "me", now=MONDAY_W48) == answer(acme, ANA, "me last-week", now=MONDAY_W48)


def test_asking_for_this_week_by_name_still_shows_it(acme: Runtime) -> None:
    assert weeks_of(answer(acme, ANA, "me this-week", now=MONDAY_W48)) == ["2026-W48"]
    assert weeks_of(answer(acme, ANA, "me 2026-W48", now=MONDAY_W48)) == ["2026-W48"]


def test_periods_and_trend_never_count_an_empty_current_week(acme: Runtime) -> None:
    assert weeks_of(answer(acme, ANA, "me 4w", now=MONDAY_W48)) == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert weeks_of(answer(acme, ANA, "me 4w", now=IN_W47)) == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    on_monday, midweek = answer(acme, ANA, "trend", now=MONDAY_W48), answer(acme, ANA, "trend", now=IN_W47)
    assert weeks_of(on_monday) == weeks_of(midweek) and weeks_of(on_monday)[-1] == "2026-W47"
    assert len(weeks_of(on_monday)) == 8


def test_app_home_shows_the_same_default(acme: Runtime) -> None:
    page = home(acme, ANA, MONDAY_W48)
    assert isinstance(page, Home)
    assert page.me == answer(acme, ANA, "me", now=MONDAY_W48)
    assert page.trend == answer(acme, ANA, "trend", now=MONDAY_W48)
    assert weeks_of(page.me) == ["2026-W47"]


def test_plural_picks_the_noun_by_the_count() -> None:
    assert plural(1, "merged PR") == "1 merged PR" and plural(2, "merged PR") == "2 merged PRs"
    assert plural(0, "page") == "0 pages" and plural(1.0, "page") == "1 page" and plural(1.5, "point") == "1.5 points"
    assert plural(1, "ticket closed", "tickets closed") == "1 ticket closed"
    assert plural(3, "ticket closed", "tickets closed") == "3 tickets closed"
    assert plural(1, "person holds", "people hold") == "1 person holds"


def one_of_each(week: str = "2026-W47") -> PersonWeek:
    figures = PersonWeek(week, spend_usd=4.0, outcome_points=1.0, active=True)
    figures.outcomes.update(pr_merged=1.0, pr_reverted=1.0, tickets_closed=1.0)
    return figures


def test_me_says_one_merged_pr_one_ticket_and_one_pr_reverted() -> None:
    report = MeReport("ana@acme.test", "Ana", Week.parse("2026-W47"), one_of_each(), None,
                      rework={"prs_reverted": 1.0, "cursor_rejects": 2.0})
    text = me_text(report)
    assert "1 merged PR, 1 reverted, 1 ticket closed → 1 outcome point" in text
    assert "Rework: 2 Cursor suggestions rejected, 1 PR reverted" in text
    assert not WRONG_NUMBER.search(text)


def test_trend_and_periods_say_one_point() -> None:
    trend = "\n".join(plain(line) for line in lines(TrendAnswer((one_of_each(),))))
    assert "2026-W47: $4.00 spend, 1 point" in trend
    report = MeReport("ana@acme.test", "Ana", Week.parse("2026-W47"), one_of_each(), None)
    period = period_text((report,))
    assert "$4.00 spend, 1 point," in period and "Total: $4.00 spend, 1 point," in period


def test_answers_and_digests_of_the_sample_org_have_no_wrong_plural(acme: Runtime) -> None:
    for text in ("me 4w", "me 2026-W47", "trend", "privacy", "preview"):
        shown = "\n".join(plain(line) for line in lines(answer(acme, ANA, text, now=IN_W47)))
        assert not WRONG_NUMBER.search(shown), (text, shown)
    for team in ("platform", "product"):
        with session_scope(acme.engine) as session:
            digest = load_digest(session, acme.config, acme.prices, team, Week.parse("2026-W47"))
        assert not WRONG_NUMBER.search(digest_text(digest)), team


def test_team_digests_have_no_zero_line_and_no_org_level_line(acme: Runtime) -> None:
    zero = re.compile(r"(?<![\d.,])(\$0\.00|0 (people|PRs|outcomes|tickets|models|seats))\b|: 0%")
    for team in ("platform", "product"):
        for week in ("2026-W46", "2026-W47", "2026-W48"):
            with session_scope(acme.engine) as session:
                text = digest_text(load_digest(session, acme.config, acme.prices, team, Week.parse(week)))
            assert not zero.search(text), (team, week, text)
            org_level = ("Unattributed", "Billed by vendors", "Last ingest", "Could have saved")
            assert not [words for words in org_level if words in text]
            no_data = "no usage data reached tokenworth for this week: check the feeds" in text
            assert no_data == (week == "2026-W48")  # the sample org's data ends in 2026-W47
            assert not (no_data and "merge small teams" in text)
