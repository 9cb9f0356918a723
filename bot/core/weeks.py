"""ISO weeks of UTC instants: every week in tokenworth is one of these."""

from __future__ import annotations

import re
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
