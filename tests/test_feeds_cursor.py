"""Cursor Admin API: daily activity counters per user, and one usage row per usage event."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import ActivityRow, IdentityRef, Record, Rejection, UsageRow
from bot.ingest.files import ingest_file
from tests.conftest import FIXTURES
from tests.contract import FeedCase, as_stored, check_contract

DAILY = FIXTURES / "cursor_daily_usage.json"
EVENTS = FIXTURES / "cursor_usage_events.json"


def rows(items: Iterable[Record | Rejection]) -> list[Any]:
    return [row for item in items if isinstance(item, Record) for row in item.rows]


def _edit(key: str, index: int | None, change: Callable[[dict[str, Any]], None]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        document = json.loads(text)
        for i, record in enumerate(document[key]):
            if index is None or i == index:
                change(record)
        return json.dumps(document)
    return edit


CASES = [
    FeedCase(
        "cursor_daily", DAILY,
        corrupt=_edit("data", 0, lambda r: r.update(totalApplies="several")), bad_location="data[0]",
        add_unknown_field=_edit("data", None, lambda r: r.update(x_unknown_field={"nested": [1]})),
        empty='{"data": [], "period": {"startDate": 0, "endDate": 0}, "pagination": {"page": 1, "totalPages": 0}}',
    ),
    FeedCase(
        "cursor_events", EVENTS,
        corrupt=_edit("usageEvents", 3, lambda r: r.update(timestamp="yesterday")), bad_location="usageEvents[3]",
        add_unknown_field=_edit("usageEvents", None, lambda r: r.update(x_unknown_field={"nested": [1]})),
        empty='{"totalUsageEventsCount": 0, "usageEvents": [], "pagination": {"numPages": 0}}',
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_feed_contract(case: FeedCase, sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(case, sqlite_engine, tmp_path)


def _daily_raw(email: str, day: str) -> dict[str, Any]:
    days = json.loads(DAILY.read_text())["data"]
    found: dict[str, Any] = next(r for r in days if r["email"] == email and r["day"] == day)
    return found


def test_a_user_day_becomes_its_counters_and_the_sum_of_requests() -> None:
    found = [r for r in rows(FEEDS["cursor_daily"].parse(DAILY))
             if r.identity == IdentityRef("cursor", "ben@acme.test") and r.day == date(2026, 11, 17)]
    raw = _daily_raw("ben@acme.test", "2026-11-17")
    values = {r.metric: r.value for r in found}
    assert values["requests"] == (
        raw["composerRequests"] + raw["chatRequests"] + raw["agentRequests"] + raw["cmdkUsages"])
    assert values["totalRejects"] == raw["totalRejects"] == 14
    assert {k: v for k, v in values.items() if k != "requests"} == {
        k: raw[k] for k in ("totalLinesAdded", "totalLinesDeleted", "acceptedLinesAdded", "totalApplies",
                            "totalAccepts", "totalRejects", "totalTabsShown", "totalTabsAccepted")}
    assert all(isinstance(r, ActivityRow) and r.source == "cursor_daily" for r in found)
    assert len({r.record_key for r in found}) == 1


def test_an_inactive_day_of_zeros_is_a_record_without_rows(sqlite_engine: Engine) -> None:
    items = [i for i in FEEDS["cursor_daily"].parse(DAILY) if isinstance(i, Record)]
    raw = json.loads(DAILY.read_text())["data"]
    idle = [i for i, r in enumerate(raw) if not r["isActive"]]
    assert len(items) == len(raw) and idle
    assert [i for i, item in enumerate(items) if not item.rows] == idle
    report = ingest_file(sqlite_engine, DAILY)
    assert report.skipped == len(idle) and report.stored == len(raw) - len(idle)


def test_the_alias_email_is_the_cursor_identity() -> None:
    identities = {r.identity for r in rows(FEEDS["cursor_daily"].parse(DAILY))}
    assert IdentityRef("cursor", "fay.fischer@acme.test") in identities
    assert all(i.kind == "cursor" for i in identities)


def test_the_day_falls_back_to_the_utc_day_of_date_ms(tmp_path: Path) -> None:
    raw = _daily_raw("ben@acme.test", "2026-11-17")
    del raw["day"]
    path = tmp_path / "daily.json"
    path.write_text(json.dumps({"data": [raw]}))
    assert {r.day for r in rows(FEEDS["cursor_daily"].parse(path))} == {date(2026, 11, 17)}


def test_ben_event_count_equals_his_daily_request_counters() -> None:
    """FORMATS.md §6: the events of a day equal usageBasedReqs + subscriptionIncludedReqs + apiKeyReqs."""
    events = [r for r in rows(FEEDS["cursor_events"].parse(EVENTS))
              if r.identity == IdentityRef("cursor", "ben@acme.test") and r.day == date(2026, 11, 17)]
    raw = _daily_raw("ben@acme.test", "2026-11-17")
    assert sum(r.requests for r in events) == len(events) == (
        raw["usageBasedReqs"] + raw["subscriptionIncludedReqs"] + raw["apiKeyReqs"])


def test_an_event_carries_its_tokens_and_list_cost() -> None:
    first = json.loads(EVENTS.read_text())["usageEvents"][0]
    row = rows(FEEDS["cursor_events"].parse(EVENTS))[0]
    tokens = first["tokenUsage"]
    assert isinstance(row, UsageRow)
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens) == (
        tokens["inputTokens"], tokens["outputTokens"], tokens["cacheReadTokens"], tokens["cacheWriteTokens"])
    assert row.cost_usd == pytest.approx(tokens["totalCents"] / 100)
    assert (row.provider, row.tool, row.model, row.source) == ("anthropic", "cursor", "claude-4.6-opus-high-thinking",
                                                                "cursor_events")
    assert row.record_key.startswith(f"{first['timestamp']}|ben@acme.test|claude-4.6-opus-high-thinking|")


def _events(tmp_path: Path, *events: dict[str, Any]) -> list[Record | Rejection]:
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"usageEvents": list(events)}))
    return list(FEEDS["cursor_events"].parse(path))


def event(**change: Any) -> dict[str, Any]:
    base = {"timestamp": "1794959999999", "userEmail": "Dev@Acme.test", "model": "gpt-5",
            "kind": "Included in Business", "maxMode": False, "requestsCosts": 1.0, "isTokenBasedCall": True,
            "tokenUsage": {"inputTokens": 10, "outputTokens": 20, "cacheWriteTokens": 0, "cacheReadTokens": 5,
                           "totalCents": 1.5}}
    return {**base, **change}


@pytest.mark.parametrize(
    ("model", "provider"),
    [("claude-4.5-sonnet", "anthropic"), ("gpt-5-codex", "openai"), ("o3", "openai"), ("o4-mini", "openai"),
     ("cursor-small", "cursor"), ("composer-1", "cursor"), ("", "cursor")],
)
def test_the_provider_follows_the_model(model: str, provider: str, tmp_path: Path) -> None:
    [row] = rows(_events(tmp_path, event(model=model)))
    assert row.provider == provider


def test_an_included_event_keeps_its_list_cost_and_the_utc_day_of_its_millisecond(tmp_path: Path) -> None:
    [row] = rows(_events(tmp_path, event()))
    assert (row.identity, row.day, row.cost_usd) == (IdentityRef("cursor", "dev@acme.test"), date(2026, 11, 17), 0.015)


def test_an_event_without_token_usage_has_no_cost_and_no_tokens(tmp_path: Path) -> None:
    [row] = rows(_events(tmp_path, event(tokenUsage=None, isTokenBasedCall=False, model="claude-4.5-sonnet")))
    assert (row.cost_usd, row.input_tokens + row.output_tokens, row.model, row.requests) == (
        None, 0, "claude-4.5-sonnet", 1)
    [missing] = rows(_events(tmp_path, {k: v for k, v in event().items() if k != "tokenUsage"}))
    assert missing.cost_usd is None


def test_events_in_the_same_millisecond_stay_apart_and_a_repeated_event_counts_once(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    other = event(tokenUsage={"inputTokens": 11, "outputTokens": 20, "totalCents": 1.6})
    _events(tmp_path, event(), other, event())
    items = as_stored("cursor_events", tmp_path / "events.json")
    assert [len(i.rows) for i in items if isinstance(i, Record)] == [1, 1, 0]
    report = ingest_file(sqlite_engine, tmp_path / "events.json")
    assert (report.stored, report.skipped, report.rejected) == (2, 1, 0)


def test_the_record_key_ignores_field_order_and_unknown_fields(tmp_path: Path) -> None:
    [first] = rows(_events(tmp_path, event()))
    reordered = dict(reversed(list(event(chargedCents=1.5, cursorTokenFee=0.1).items())))
    [second] = rows(_events(tmp_path, reordered))
    assert first.record_key == second.record_key


def test_a_negative_token_count_is_rejected(tmp_path: Path) -> None:
    items = _events(tmp_path, event(), event(tokenUsage={"inputTokens": -1, "totalCents": 1}))
    assert [(i.location, "inputTokens" in i.reason) for i in items if isinstance(i, Rejection)] == [
        ("usageEvents[1]", True)]
