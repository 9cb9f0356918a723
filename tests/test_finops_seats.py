"""Seat costs: a seat is its monthly price × 12 / 365 per UTC day assigned; a week sums its days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.answers.me import me_report
from bot.config.org import OrgConfig
from bot.core.prices import PriceTable
from bot.core.seats import SeatSnapshot, daily_price, seat_cost, seat_spans
from bot.core.weeks import Week
from bot.ingest.files import ingest_paths
from storage.engine import session_scope
from tests.conftest import FIXTURES

D = date.fromisoformat

# Worked by hand: 19 × 12 / 365 = 0.624657534… a day; 39 × 12 / 365 = 1.282191780… a day.
HAND_TABLE = [
    # (plan, monthly, first snapshot, pending cancellation, period start, period end (exclusive), USD)
    ("business", 19.0, "2026-11-01", None, "2026-11-16", "2026-11-23", 4.372602739726),  # a full week: 7 days
    ("business", 19.0, "2026-11-20", None, "2026-11-16", "2026-11-23", 1.873972602740),  # first seen Friday: 3 days
    ("business", 19.0, "2026-11-01", None, "2026-11-01", "2026-12-01", 18.739726027397),  # November: 30 days
    ("business", 19.0, "2026-01-01", None, "2026-01-01", "2027-01-01", 228.0),  # a year is twelve months
    ("enterprise", 39.0, "2026-11-01", None, "2026-11-16", "2026-11-23", 8.975342465753),
    ("business", 19.0, "2026-11-20", "2026-12-01", "2026-11-01", "2026-12-01", 6.871232876712),  # 11-20..11-30
    ("business", 19.0, "2026-11-20", "2026-12-01", "2026-12-01", "2027-01-01", 0.0),  # cancelled: nothing after
    ("enterprise", 39.0, "2026-12-05", None, "2026-11-01", "2026-12-01", 0.0),  # not yet assigned
]


@pytest.mark.parametrize(("plan", "monthly", "first", "pending", "start", "end", "usd"), HAND_TABLE)
def test_seat_proration_matches_the_hand_computed_table(
    plan: str, monthly: float, first: str, pending: str | None, start: str, end: str, usd: float,
) -> None:
    snap = SeatSnapshot(7, "seat", "copilot_seats", D(first), plan, monthly, D(pending) if pending else None)
    assert seat_cost(seat_spans([snap]), D(start), D(end)).get(7, 0.0) == pytest.approx(usd, abs=1e-9)


def test_a_week_sums_its_days_and_the_price_is_per_day() -> None:
    assert daily_price(19) == pytest.approx(0.6246575342465753)
    snap = SeatSnapshot(1, "s", "copilot_seats", D("2026-11-01"), "business", 19.0)
    spans = seat_spans([snap])
    days = sum(seat_cost(spans, D("2026-11-16") + timedelta(n), D("2026-11-17") + timedelta(n))[1] for n in range(7))
    assert days == pytest.approx(seat_cost(spans, D("2026-11-16"), D("2026-11-23"))[1])


def test_a_seat_a_later_snapshot_no_longer_lists_ends_with_its_last_snapshot() -> None:
    snaps = [SeatSnapshot(1, "a", "copilot_seats", D("2026-11-01"), "business", 19.0),
             SeatSnapshot(1, "a", "copilot_seats", D("2026-11-06"), "business", 19.0),
             SeatSnapshot(2, "b", "copilot_seats", D("2026-11-20"), "business", 19.0)]
    cost = seat_cost(seat_spans(snaps), D("2026-11-01"), D("2026-12-01"))
    assert cost[1] == pytest.approx(6 * daily_price(19))  # 11-01 to 11-06
    assert cost[2] == pytest.approx(11 * daily_price(19))  # still assigned: 11-20 to 11-30


def test_configured_seat_prices_win_over_the_feeds() -> None:
    snap = SeatSnapshot(1, "a", "copilot_seats", D("2026-11-01"), "business", 19.0)
    (span,) = seat_spans([snap], {"copilot_business": 21.0})
    assert span.monthly_usd == 21.0 and span.cost_in(D("2026-11-01"), D("2026-11-02")) == pytest.approx(21 * 12 / 365)


def test_a_seat_only_person_has_a_cost_and_a_yield(acme_engine: Engine, acme_config: OrgConfig,
                                                   prices: PriceTable) -> None:
    ingest_paths(acme_engine, [FIXTURES / "copilot_billing_seats.json", FIXTURES / "github_pulls.json"])
    with session_scope(acme_engine) as session:
        report = me_report(session, acme_config, prices, "fay@acme.test", Week.parse("2026-W47"))
    figures = report.as_json()
    assert figures["spend_usd"] == 0  # Copilot is seat-priced: no metered usage
    assert figures["seat_cost_usd"] == pytest.approx(3 * daily_price(19))  # first seen 2026-11-20: Fri to Sun
    assert figures["cost_usd"] == pytest.approx(figures["seat_cost_usd"])
    assert figures["outcome_points"] > 0
    assert figures["yield_per_100usd"] == pytest.approx(figures["outcome_points"] / figures["cost_usd"] * 100)



@given(first=st.integers(0, 60), pending=st.one_of(st.none(), st.integers(0, 90)), start=st.integers(0, 80),
       length=st.integers(0, 40), cut=st.integers(0, 40), monthly=st.sampled_from([19.0, 39.0, 40.0]))
def test_splitting_a_period_never_changes_its_seat_cost(
    first: int, pending: int | None, start: int, length: int, cut: int, monthly: float,
) -> None:
    base = D("2026-10-01")
    snap = SeatSnapshot(1, "s", "copilot_seats", base + timedelta(first), "business", monthly,
                        None if pending is None else base + timedelta(pending))
    spans = seat_spans([snap])
    a, b = base + timedelta(start), base + timedelta(start + length)
    middle = a + timedelta(min(cut, length))
    whole = seat_cost(spans, a, b).get(1, 0.0)
    parts = seat_cost(spans, a, middle).get(1, 0.0) + seat_cost(spans, middle, b).get(1, 0.0)
    assert whole == pytest.approx(parts) and whole >= 0
    assert whole <= length * daily_price(monthly) + 1e-9
