"""The one week syntax every surface reads (bot.core.weeks.parse_period): Slack, Teams and the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.weeks import Week, is_period_word, parse_period
from bot.errors import UsageError

MONDAY_W48 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("word", "weeks", "settles"), [
    (None, ["2026-W48"], True), ("", ["2026-W48"], True),
    ("this-week", ["2026-W48"], False), ("THIS-WEEK", ["2026-W48"], False),
    ("last-week", ["2026-W47"], False), ("last", ["2026-W47"], False),
    ("2026-w45", ["2026-W45"], False), ("2026-W45", ["2026-W45"], False),
    ("4w", ["2026-W45", "2026-W46", "2026-W47", "2026-W48"], True), ("1W", ["2026-W48"], True),
])
def test_each_form_names_its_weeks(word: str | None, weeks: list[str], settles: bool) -> None:
    period = parse_period(word, MONDAY_W48)
    assert [str(w) for w in period.weeks] == weeks and period.settles is settles


def test_a_settling_period_falls_back_to_the_last_full_week_while_this_one_is_empty() -> None:
    period = parse_period("4w", MONDAY_W48)
    assert [str(w) for w in period.settle(lambda week: False)] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert period.settle(lambda week: week == Week.parse("2026-W48")) == list(period.weeks)
    assert str(period.reads[0]) == "2026-W44"  # read once, whichever way it settles
    fixed = parse_period("this-week", MONDAY_W48)
    assert fixed.settle(lambda week: False) == list(fixed.weeks)


@pytest.mark.parametrize(("word", "reason"), [
    ("2026-W99", "does not exist"), ("13w", "between 1w and 12w"), ("0w", "between 1w and 12w"),
    ("yesterday", "is not a week"), ("2026-47", "is not a week"),
])
def test_what_is_not_a_week_is_refused_with_the_reason(word: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        parse_period(word, MONDAY_W48)


def test_week_words_are_recognised_before_parsing() -> None:
    assert all(is_period_word(w) for w in ("last-week", "this-week", "2026-w48", "2026-W99", "4w", "12W"))
    assert not any(is_period_word(w) for w in ("platform", "yesterday", "2026-48", "w4", ""))
