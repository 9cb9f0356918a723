"""The facts the core computes on: plain values read from storage, one per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class UsageFact:
    person_id: int | None
    day: date
    provider: str
    tool: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    requests: int
    cost_usd: float | None
    source: str = ""
    billing: str | None = None
    cache_write_1h_tokens: int = 0


@dataclass(frozen=True)
class OutcomeFact:
    person_id: int | None
    week: str
    kind: str
    quantity: float


@dataclass(frozen=True)
class ActivityFact:
    person_id: int | None
    day: date
    source: str
    metric: str
    value: float


@dataclass(frozen=True)
class SeatFact:
    person_id: int | None
    day: date
    plan: str | None
    monthly_cost_usd: float | None
    last_activity_at: datetime | None
