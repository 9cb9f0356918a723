"""Cursor Admin API `POST /teams/daily-usage-data`: activity counters per user per day (tokens come from events)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from bot.ingest.feeds.base import (
    ActivityRow,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    listed_records,
)

SOURCE = "cursor_daily"
# Counters stored under their Cursor names (bot.core.signals reads `totalRejects`).
COUNTERS = ("totalLinesAdded", "totalLinesDeleted", "acceptedLinesAdded", "totalApplies", "totalAccepts",
            "totalRejects", "totalTabsShown", "totalTabsAccepted")
REQUESTS = ("composerRequests", "chatRequests", "agentRequests", "cmdkUsages")


class _UserDay(BaseModel):
    model_config = ConfigDict(extra="ignore")
    email: str = Field(min_length=1)
    day: date | None = None
    date_ms: int | None = Field(default=None, alias="date", ge=0)
    isActive: bool = True
    totalLinesAdded: NonNegativeInt = 0
    totalLinesDeleted: NonNegativeInt = 0
    acceptedLinesAdded: NonNegativeInt = 0
    totalApplies: NonNegativeInt = 0
    totalAccepts: NonNegativeInt = 0
    totalRejects: NonNegativeInt = 0
    totalTabsShown: NonNegativeInt = 0
    totalTabsAccepted: NonNegativeInt = 0
    composerRequests: NonNegativeInt = 0
    chatRequests: NonNegativeInt = 0
    agentRequests: NonNegativeInt = 0
    cmdkUsages: NonNegativeInt = 0

    @property
    def utc_day(self) -> date:
        if self.day is not None:
            return self.day
        if self.date_ms is None:
            raise ValueError("day: a user-day needs day or date")
        return datetime.fromtimestamp(self.date_ms / 1000, tz=UTC).date()


class CursorDailyUsageFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"totalTabsShown"' in head and '"acceptedLinesAdded"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        return listed_records(path, "data", "a Cursor daily-usage-data response",
                              lambda raw: _rows(_UserDay.model_validate(raw)))


def _rows(user_day: _UserDay) -> Iterator[ActivityRow]:
    """Every counter of an active day; a day with nothing on it (an inactive user's zeros) has no rows."""
    values = {name: getattr(user_day, name) for name in COUNTERS}
    values["requests"] = sum(getattr(user_day, name) for name in REQUESTS)
    day = user_day.utc_day
    if not any(values.values()):
        return
    identity = IdentityRef.of("cursor", user_day.email)
    key = f"{day}|{identity.value}"
    for metric, value in values.items():
        yield ActivityRow(SOURCE, key, identity, day, metric, value)


FEED = CursorDailyUsageFeed()
