"""GitHub Copilot seats (`GET /orgs/{org}/copilot/billing/seats`): a snapshot of paid seats.

The API does not say when the snapshot was taken. Its day is the date in the file's name when the
name carries one (`copilot-seats-2026-11-20.json`), else the UTC day of the latest timestamp in the
document (created_at, updated_at, last_activity_at, last_authenticated_at) that lies in the date
window (bot.ingest.limits): the snapshot cannot be older than anything it reports, though it may be
newer when every seat has been idle, and one seat's absurd timestamp does not move everyone's day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from bot.core.weeks import to_utc
from bot.errors import FeedError
from bot.ingest.feeds.base import (
    BAD_RECORD,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    SeatRow,
    load_json,
    read_record,
    reason,
)
from bot.ingest.limits import date_window

SOURCE = "copilot_seats"
MONTHLY_USD = {"business": 19.0, "enterprise": 39.0}
_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Assignee(_Lenient):
    login: str = Field(min_length=1)


class _Seat(_Lenient):
    assignee: _Assignee
    plan_type: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_activity_at: datetime | None = None
    last_authenticated_at: datetime | None = None
    pending_cancellation_date: date | None = None

    @property
    def moments(self) -> list[datetime]:
        found = (self.created_at, self.updated_at, self.last_activity_at, self.last_authenticated_at)
        return [to_utc(moment) for moment in found if moment is not None]


class CopilotSeatsFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"seats"' in head and '"assignee"' in head and '"plan_type"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        document = load_json(path)
        raw_seats = document.get("seats") if isinstance(document, dict) else None
        if not isinstance(raw_seats, list):
            raise FeedError(f"{path}: expected a Copilot billing seats response with a seats list")
        seats: list[tuple[str, _Seat, list[datetime]]] = []
        rejections: list[Rejection] = []
        for index, raw in enumerate(raw_seats):
            try:
                seat = _Seat.model_validate(raw)
                seats.append((f"seats[{index}]", seat, seat.moments))
            except BAD_RECORD as exc:
                rejections.append(Rejection(f"seats[{index}]", reason(exc)))
        day = snapshot_day(path, [moment for _, _, moments in seats for moment in moments], bool(seats))
        yield from rejections
        for where, seat, _ in seats:
            yield read_record(where, lambda seat, day: (_row(seat, day),), seat, day)


def snapshot_day(path: Path, moments: list[datetime], any_seats: bool) -> date:
    match = _DATE_IN_NAME.search(path.name)
    if match:
        try:
            return date.fromisoformat(match[1])
        except ValueError:
            pass
    earliest, latest = date_window()
    days = [moment.date() for moment in moments if earliest <= moment.date() <= latest]
    if not days and any_seats:
        raise FeedError(f"{path}: no timestamp tells the snapshot day; "
                        "put the date in the file name (seats-YYYY-MM-DD.json)")
    return max(days) if days else date.min


def _row(seat: _Seat, day: date) -> SeatRow:
    identity = IdentityRef.of("github", seat.assignee.login)
    plan = (seat.plan_type or "unknown").lower()
    return SeatRow(
        source=SOURCE, record_key=f"{identity.value}|{day}", identity=identity, day=day, plan=plan,
        monthly_cost_usd=MONTHLY_USD.get(plan),
        last_activity_at=to_utc(seat.last_activity_at) if seat.last_activity_at else None,
        pending_cancellation=seat.pending_cancellation_date,
    )


FEED = CopilotSeatsFeed()
