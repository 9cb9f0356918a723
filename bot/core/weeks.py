"""ISO weeks of UTC instants, and the one week syntax people type (`last-week`, `this-week`, `2026-w48`, `4w`).

Invariant: every week in tokenworth is a `Week`; every surface (Slack, Teams, the command line) reads what a
person types about weeks through `parse_period`, so the same words mean the same weeks everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.errors import UsageError

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class Week:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        match = _WEEK.match(text.strip())
        if not match:
            raise UsageError(f"week {text!r} is not of the form YYYY-Www (for example 2026-W47)")
        year, number = int(match[1]), int(match[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise UsageError(f"week {text!r} does not exist: {year} has no week {number}") from None
        return cls(year, number)

    @classmethod
    def of(cls, day: date | datetime) -> Week:
        if isinstance(day, datetime):
            day = to_utc(day).date()
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def end(self) -> date:
        """The Monday after: weeks are half-open [monday, end)."""
        return self.monday + timedelta(days=7)

    def shift(self, weeks: int) -> Week:
        return Week.of(self.monday + timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02d}"


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def last_full_week(now: datetime | None = None) -> Week:
    now = to_utc(now or datetime.now(UTC))
    return Week.of(now).shift(-1)


MAX_PERIOD_WEEKS = 12
THIS_WEEK = ("this-week", "this", "week")
LAST_WEEK = ("last-week", "last")
_PERIOD = re.compile(r"^(\d+)w$", re.IGNORECASE)
_WEEK_WORD = re.compile(r"^\d{4}-w\d{2}$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """The weeks a command asks about, oldest first.

    A period that `settles` (no week given, or `4w`: relative and ending this week) ends at the last full
    week instead while the asker has no data in this week yet, so nobody is shown an empty week on a Monday.
    """

    weeks: tuple[Week, ...]
    settles: bool = False

    @property
    def reads(self) -> list[Week]:
        """What to read: the weeks, and the week before when the period may settle back onto it."""
        return [self.weeks[0].shift(-1), *self.weeks] if self.settles else list(self.weeks)

    def settle(self, has_data: Callable[[Week], bool]) -> list[Week]:
        """The weeks to answer about, given whether the asker has data in a week (already read)."""
        if not self.settles or has_data(self.weeks[-1]):
            return list(self.weeks)
        return [w.shift(-1) for w in self.weeks]


def is_week_word(word: str) -> bool:
    """`2026-W48` in any case: an ISO week as typed (whether it exists is `Week.parse`'s to say)."""
    return _WEEK_WORD.match(word.strip()) is not None


def is_period_word(word: str) -> bool:
    """Whether `word` is week syntax at all: this-week, last-week, YYYY-Www or Nw."""
    folded = word.strip().lower()
    return folded in THIS_WEEK or folded in LAST_WEEK or is_week_word(folded) or _PERIOD.match(folded) is not None


def parse_period(word: str | None, now: datetime, *, settle_default: bool = True) -> Period:
    """The weeks `word` names at `now`; None or "" is the current week, settling on the last full one.

    Raises UsageError for a word that is not week syntax, a week that does not exist, or a period outside
    1w..12w.
    """
    current = Week.of(now)
    folded = (word or "").strip().lower()
    if not folded:
        return Period((current,), settles=settle_default)
    if folded in THIS_WEEK:
        return Period((current,))
    if folded in LAST_WEEK:
        return Period((current.shift(-1),))
    period = _PERIOD.match(folded)
    if period:
        count = int(period[1])
        if not 1 <= count <= MAX_PERIOD_WEEKS:
            raise UsageError(f"a period of weeks must be between 1w and {MAX_PERIOD_WEEKS}w")
        return Period(weeks_between(current.shift(1 - count), current), settles=True)
    if is_week_word(folded):
        return Period((Week.parse(folded.upper()),))
    raise UsageError(f"{word!r} is not a week: say this-week, last-week, YYYY-Www (for example 2026-W47) or 4w")


def weeks_between(first: Week, last: Week) -> tuple[Week, ...]:
    """Every week from `first` to `last`, both included, oldest first."""
    weeks = [first]
    while weeks[-1] < last:
        weeks.append(weeks[-1].shift(1))
    return tuple(weeks)
