"""GitHub Copilot: the per-user NDJSON report, seat snapshots, the legacy org metrics."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.errors import FeedError
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import ActivityRow, IdentityRef, Record, Rejection, SeatRow, UsageRow
from bot.ingest.files import ingest_file
from tests.conftest import FIXTURES
from tests.contract import FeedCase, as_stored, check_contract

REPORT = FIXTURES / "copilot_user_metrics.ndjson"
SEATS = FIXTURES / "copilot_billing_seats.json"
LEGACY = FIXTURES / "copilot_metrics.json"


def rows(items: Iterable[Record | Rejection]) -> list[Any]:
    return [row for item in items if isinstance(item, Record) for row in item.rows]


def report_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in REPORT.read_text().splitlines()]


def _ndjson(index: int | None, change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        out = []
        for i, line in enumerate(text.splitlines()):
            record = json.loads(line)
            if index is None or i == index:
                change(record)
            out.append(json.dumps(record))
        return "\n".join(out) + "\n"
    return edit


def _seats(index: int | None, change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        document = json.loads(text)
        for i, seat in enumerate(document["seats"]):
            if index is None or i == index:
                change(seat)
        return json.dumps(document)
    return edit


def _days(index: int | None, change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        days = json.loads(text)
        for i, day in enumerate(days):
            if index is None or i == index:
                change(day)
        return json.dumps(days)
    return edit


def _unknown(record: dict[str, Any]) -> None:
    record["x_unknown_field"] = {"nested": [1]}


CASES = [
    FeedCase(
        "copilot_usage", REPORT,
        corrupt=_ndjson(6, lambda r: r.update(loc_added_sum="plenty")), bad_location="line 7",
        add_unknown_field=_ndjson(None, _unknown), empty="",
    ),
    FeedCase(
        "copilot_seats", SEATS,
        corrupt=_seats(1, lambda s: s.update(last_activity_at="a while ago")), bad_location="seats[1]",
        add_unknown_field=_seats(None, _unknown), empty='{"total_seats": 0, "seats": []}',
    ),
    FeedCase(
        "copilot_metrics", LEGACY,
        corrupt=_days(2, lambda d: d.update(total_active_users=-1)), bad_location="[2]",
        add_unknown_field=_days(None, _unknown), empty="[]",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_feed_contract(case: FeedCase, sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(case, sqlite_engine, tmp_path)


def test_a_report_line_becomes_the_users_activity_of_the_day() -> None:
    raw = next(r for r in report_lines() if r["user_login"] == "eli-e" and r["day"] == "2026-11-17")
    found = [r for r in rows(FEEDS["copilot_usage"].parse(REPORT))
             if r.identity == IdentityRef("github", "eli-e") and r.day == date(2026, 11, 17)]
    assert {r.metric: r.value for r in found if isinstance(r, ActivityRow)} == {
        "interactions": raw["user_initiated_interaction_count"], "suggestions": raw["code_generation_activity_count"],
        "acceptances": raw["code_acceptance_activity_count"], "lines_suggested": raw["loc_suggested_to_add_sum"],
        "lines_added": raw["loc_added_sum"]}
    assert not [r for r in found if isinstance(r, UsageRow)], "IDE use carries no tokens"


def _report(tmp_path: Path, *lines: str | dict[str, Any]) -> list[Record | Rejection]:
    path = tmp_path / "report.ndjson"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return list(FEEDS["copilot_usage"].parse(path))


def test_cli_token_usage_becomes_an_unpriced_usage_row(tmp_path: Path) -> None:
    raw = report_lines()[0]
    cli = {"session_count": 2, "request_count": 9, "prompt_count": 4,
           "token_usage": {"prompt_tokens_sum": 12000, "output_tokens_sum": 3400, "avg_tokens_per_request": 1711}}
    [row] = [r for r in rows(_report(tmp_path, {**raw, "totals_by_cli": cli})) if isinstance(r, UsageRow)]
    assert (row.identity, row.tool, row.provider, row.model) == (
        IdentityRef("github", "devdesai"), "copilot", "github", "copilot-cli")
    assert (row.input_tokens, row.output_tokens, row.requests, row.cost_usd) == (12000, 3400, 9, None)
    zero = {**cli, "token_usage": {"prompt_tokens_sum": 0, "output_tokens_sum": 0}}
    assert not [r for r in rows(_report(tmp_path, {**raw, "totals_by_cli": zero})) if isinstance(r, UsageRow)]


def test_a_malformed_line_is_rejected_and_the_rest_kept(tmp_path: Path) -> None:
    good = report_lines()[:3]
    items = _report(tmp_path, good[0], '{"day": "2026-11-09", "user_login": "eli-', good[1], "[1, 2]", good[2])
    assert [i.location for i in items if isinstance(i, Rejection)] == ["line 2", "line 4"]
    assert len([i for i in items if isinstance(i, Record)]) == 3


def test_a_user_day_repeated_in_one_report_counts_once(sqlite_engine: Engine, tmp_path: Path) -> None:
    good = report_lines()[:2]
    _report(tmp_path, good[0], good[1], good[0])
    items = as_stored("copilot_usage", tmp_path / "report.ndjson")
    assert [len(i.rows) for i in items if isinstance(i, Record)] == [5, 5, 0]
    report = ingest_file(sqlite_engine, tmp_path / "report.ndjson")
    assert (report.stored, report.skipped) == (2, 1)


def seat_rows(path: Path) -> list[SeatRow]:
    return [r for r in rows(FEEDS["copilot_seats"].parse(path)) if isinstance(r, SeatRow)]


def test_seats_are_a_snapshot_on_the_day_of_the_latest_timestamp() -> None:
    found = {r.identity.value: r for r in seat_rows(SEATS)}
    assert set(found) == {"ana-acme", "benb", "cara-codes", "devdesai", "eli-e", "fayfischer"}
    assert {r.day for r in found.values()} == {date(2026, 11, 20)}  # the newest last_activity_at
    cara = found["cara-codes"]
    assert (cara.plan, cara.monthly_cost_usd, cara.pending_cancellation, cara.record_key) == (
        "business", 19.0, date(2026, 12, 1), "cara-codes|2026-11-20")
    assert found["benb"].last_activity_at == datetime(2026, 9, 2, 10, 41, 37, tzinfo=UTC)


def test_a_date_in_the_file_name_is_the_snapshot_day(tmp_path: Path) -> None:
    named = tmp_path / "copilot-seats-2026-11-22.json"
    named.write_text(SEATS.read_text())
    assert {(r.day, r.record_key.endswith("|2026-11-22")) for r in seat_rows(named)} == {(date(2026, 11, 22), True)}


def _one_seat(tmp_path: Path, **change: Any) -> list[Record | Rejection]:
    seat = {**json.loads(SEATS.read_text())["seats"][0], **change}
    path = tmp_path / "seats.json"
    path.write_text(json.dumps({"total_seats": 1, "seats": [seat]}))
    return list(FEEDS["copilot_seats"].parse(path))


def test_offset_timestamps_are_normalised_to_utc(tmp_path: Path) -> None:
    [row] = rows(_one_seat(tmp_path, last_activity_at="2026-11-20T19:30:00-06:00", updated_at=None,
                           created_at="2021-08-03T18:00:00-06:00", last_authenticated_at=None))
    assert row.last_activity_at == datetime(2026, 11, 21, 1, 30, tzinfo=UTC)
    assert row.day == date(2026, 11, 21)  # the snapshot day is a UTC day too


@pytest.mark.parametrize(("plan", "cost"), [("business", 19.0), ("enterprise", 39.0), ("unknown", None), (None, None)])
def test_the_seat_price_follows_the_plan(plan: str | None, cost: float | None, tmp_path: Path) -> None:
    [row] = rows(_one_seat(tmp_path, plan_type=plan))
    assert row.monthly_cost_usd == cost


def test_a_seat_without_an_assignee_is_rejected(tmp_path: Path) -> None:
    [item] = _one_seat(tmp_path, assignee=None)
    assert isinstance(item, Rejection) and item.location == "seats[0]" and "assignee" in item.reason


def test_seats_without_any_timestamp_or_dated_name_are_unusable(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="snapshot day"):
        _one_seat(tmp_path, created_at=None, updated_at=None, last_activity_at=None, last_authenticated_at=None)


def test_legacy_metrics_become_org_activity_per_day() -> None:
    days = json.loads(LEGACY.read_text())
    found = rows(FEEDS["copilot_metrics"].parse(LEGACY))
    assert {r.identity for r in found} == {IdentityRef("github_org", "org")}
    by_day = {(r.day.isoformat(), r.metric): r.value for r in found}
    assert by_day == {
        **{(d["date"], "active_users"): d["total_active_users"] for d in days},
        **{(d["date"], "engaged_users"): d["total_engaged_users"] for d in days},
    }
