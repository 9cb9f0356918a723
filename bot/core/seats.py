"""Seat costs: a subscription seat is a person's fixed cost, prorated per UTC day it is assigned.

Invariant: a seat costs its monthly price × 12 / 365 for every UTC day it is assigned, so a week sums
its days and a year sums to twelve months. A seat is assigned from its first snapshot (feeds do not
say when it was created) up to the day before its `pending_cancellation_date`, else through the last
snapshot that lists it when a later snapshot of the same feed no longer does (removed), else up to
the end of the period asked about (still assigned). Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

DAYS_PER_YEAR = 365
SEAT_TOOLS = {"copilot_seats": "copilot", "cursor_seats": "cursor", "claude_seats": "claude"}


def daily_price(monthly_usd: float) -> float:
    return monthly_usd * 12 / DAYS_PER_YEAR


@dataclass(frozen=True)
class SeatSnapshot:
    """One feed's snapshot of one seat on one day."""

    owner: int | None  # the person; None while nobody claims the seat's identity
    seat: str  # what identifies the seat across snapshots (its identity)
    source: str
    day: date
    plan: str | None
    monthly_usd: float | None
    pending_cancellation: date | None = None


@dataclass(frozen=True)
class SeatSpan:
    owner: int | None
    seat: str
    source: str
    plan: str
    monthly_usd: float
    first: date
    last: date | None  # inclusive; None: still assigned

    def days_in(self, start: date, end: date) -> int:
        """Assigned days in [start, end)."""
        stop = end if self.last is None else min(end, self.last + timedelta(days=1))
        return max((stop - max(start, self.first)).days, 0)

    def cost_in(self, start: date, end: date) -> float:
        return self.days_in(start, end) * daily_price(self.monthly_usd)


def price_key(source: str, plan: str) -> str:
    return f"{SEAT_TOOLS.get(source, source)}_{plan}"


def seat_spans(
    snapshots: Iterable[SeatSnapshot], prices: Mapping[str, float] | None = None,
    snapshot_days: Mapping[str, Iterable[date]] | None = None,
) -> list[SeatSpan]:
    """Each seat's assignment from its snapshots; `prices` (by tool_plan, from the config) win over the feed's.

    `snapshot_days`: the days each feed took a snapshot on, when `snapshots` are only some people's (a seat
    missing from a later snapshot of its feed was removed, whoever else that snapshot lists)."""
    by_seat: dict[tuple[str, str], list[SeatSnapshot]] = defaultdict(list)
    taken: dict[str, set[date]] = defaultdict(set)
    for source, days in (snapshot_days or {}).items():
        taken[source].update(days)
    for snap in snapshots:
        by_seat[(snap.source, snap.seat)].append(snap)
        taken[snap.source].add(snap.day)
    spans = []
    for (source, seat), snaps in sorted(by_seat.items()):
        latest = max(snaps, key=lambda s: s.day)
        plan = latest.plan or "unknown"
        monthly = (prices or {}).get(price_key(source, plan), latest.monthly_usd)
        if monthly is None:
            continue  # a plan with no price: nothing to prorate, and never silently $0 of a known price
        first = min(s.day for s in snaps)
        spans.append(SeatSpan(latest.owner, seat, source, plan, monthly, first, _last_day(snaps, taken[source])))
    return spans


def _last_day(snaps: list[SeatSnapshot], snapshot_days: set[date]) -> date | None:
    pending = [s.pending_cancellation for s in snaps if s.pending_cancellation is not None]
    if pending:
        return min(pending) - timedelta(days=1)
    seen = max(s.day for s in snaps)
    return seen if any(day > seen for day in snapshot_days) else None


def seat_cost(spans: Iterable[SeatSpan], start: date, end: date) -> dict[int | None, float]:
    """Fixed cost per owner over [start, end)."""
    cost: dict[int | None, float] = defaultdict(float)
    for span in spans:
        amount = span.cost_in(start, end)
        if amount:
            cost[span.owner] += amount
    return dict(cost)

