"""GitHub Copilot seats (`GET /orgs/{org}/copilot/billing/seats`): a snapshot of paid seats.

The API does not say when the snapshot was taken. Its day is the date in the file's name when the
name carries one (`copilot-seats-2026-11-20.json`), else the UTC day of the latest timestamp in the
document (created_at, updated_at, last_activity_at, last_authenticated_at): the snapshot cannot be
older than anything it reports, though it may be newer when every seat has been idle.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.weeks import to_utc
from bot.errors import FeedError
from bot.ingest.feeds.base import BaseFeed, IdentityRef, Record, Rejection, SeatRow, describe, load_json

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
        seats: list[tuple[str, _Seat]] = []
        rejections: list[Rejection] = []
        for index, raw in enumerate(raw_seats):
            try:
                seats.append((f"seats[{index}]", _Seat.model_validate(raw)))
            except ValidationError as exc:
                rejections.append(Rejection(f"seats[{index}]", describe(exc)))
        day = snapshot_day(path, [seat for _, seat in seats])
        yield from rejections
        for where, seat in seats:
            yield Record(where, (_row(seat, day),))


def snapshot_day(path: Path, seats: list[_Seat]) -> date:
    match = _DATE_IN_NAME.search(path.name)
    if match:
        try:
            return date.fromisoformat(match[1])
        except ValueError:
            pass
    moments = [moment for seat in seats for moment in seat.moments]
    if not moments and seats:
        raise FeedError(f"{path}: no timestamp tells the snapshot day; "
                        "put the date in the file name (seats-YYYY-MM-DD.json)")
    return max(moments).date() if moments else date.min


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
