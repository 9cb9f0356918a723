"""Claude Code OpenTelemetry metrics: cumulative readings count once, delta points add up, identities link."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.core.prices import normalise_model
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds._jsonl import utc_day_of_ns
from bot.ingest.feeds.base import ActivityRow, IdentityLink, IdentityRef, Record, Rejection, UsageRow
from bot.ingest.files import ingest_file
from storage.models import Activity, Usage
from tests.conftest import FIXTURES
from tests.contract import FeedCase, as_stored, check_contract

CUMULATIVE = FIXTURES / "claude_code_otlp_metrics.json"
DELTA = FIXTURES / "claude_code_otlp_metrics.delta.jsonl"
FEED = FEEDS["claude_code_otel"]
DAY = date(2026, 11, 17)


def parse(path: Path) -> list[Record | Rejection]:
    return list(FEED.parse(path))


def stored(path: Path) -> list[Record | Rejection]:
    return as_stored("claude_code_otel", path)


def rows(items: Iterable[Record | Rejection]) -> list[Any]:
    return [row for item in items if isinstance(item, Record) for row in item.rows]


def points(document: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for resource in document["resourceMetrics"]:
        for scope in resource["scopeMetrics"]:
            for metric in scope["metrics"]:
                yield from metric["sum"]["dataPoints"]


def _each_point(text: str, change: Callable[[dict[str, Any]], None], line: int | None = None) -> str:
    """The fixture with `change` applied to every data point (or, with `line`, the first of that line)."""
    if line is None and not text.lstrip().startswith('{"'):
        document = json.loads(text)
        for point in points(document):
            change(point)
        return json.dumps(document)
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        document = json.loads(raw)
        targets = list(points(document))
        for point in targets if line is None else targets[:1] if number == line else []:
            change(point)
        out.append(json.dumps(document))
    return "\n".join(out) + "\n"


def _first_point(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(text)
    change(next(iter(points(document))))
    return json.dumps(document, indent=1)  # one line would be read as JSON-lines, located at "line 1 ..."


CASES = [
    FeedCase(
        "claude_code_otel", CUMULATIVE,
        corrupt=lambda t: _first_point(t, lambda p: p.update(asDouble="lots")),
        bad_location="resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0]",
        add_unknown_field=lambda t: _each_point(t, lambda p: p.update(x_unknown={"nested": [1]})),
        empty='{"resourceMetrics": []}',
    ),
    FeedCase(
        "claude_code_otel", DELTA,
        corrupt=lambda t: _each_point(t, lambda p: p.update(timeUnixNano="soon"), line=2),
        bad_location="line 2 resourceMetrics[0].scopeMetrics[0].metrics[0].sum.dataPoints[0]",
        add_unknown_field=lambda t: _each_point(t, lambda p: p.update(x_unknown={"nested": [1]})),
        empty="",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=["cumulative-json", "delta-jsonl"])
def test_feed_contract(case: FeedCase, sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(case, sqlite_engine, tmp_path)


def _analytics_local_rows() -> dict[tuple[str, str], tuple[int, int, int, int, float]]:
    document = json.loads((FIXTURES / "claude_code_analytics" / "2026-11-17.json").read_text())
    totals: dict[tuple[str, str], tuple[int, int, int, int, float]] = {}
    for record in document["data"]:
        if record["is_remote"] or record["actor"]["type"] != "user_actor":
            continue
        for use in record["model_breakdown"]:
            tokens = use["tokens"]
            totals[(record["actor"]["email_address"], normalise_model(use["model"]))] = (
                tokens["input"], tokens["output"], tokens["cache_read"], tokens["cache_creation"],
                round(use["estimated_cost"]["amount"] / 100, 4))
    return totals


def _usage_totals(found: Iterable[Any]) -> dict[tuple[str, str], tuple[int, int, int, int, float]]:
    sums: dict[tuple[str, str], list[float]] = {}
    for row in found:
        if isinstance(row, UsageRow):
            total = sums.setdefault((row.identity.value, row.model), [0, 0, 0, 0, 0.0])
            for i, value in enumerate((row.input_tokens, row.output_tokens, row.cache_read_tokens,
                                       row.cache_write_tokens, row.cost_usd or 0.0)):
                total[i] += value
    return {key: (int(a), int(b), int(c), int(d), round(e, 4)) for key, (a, b, c, d, e) in sums.items()}


def test_cumulative_totals_equal_the_local_analytics_rows_of_the_day() -> None:
    found = rows(parse(CUMULATIVE))
    # The fixture's day is the analytics day; two of Ben's sessions end after midnight UTC, and by the
    # UTC day of timeUnixNano those readings belong to 2026-11-18.
    assert _usage_totals(found) == _analytics_local_rows()
    late = {(r.identity.value, r.day) for r in found if isinstance(r, UsageRow) and r.day != DAY}
    assert late == {("ben@acme.test", date(2026, 11, 18))}
    tokens = [r for r in found if isinstance(r, UsageRow) and r.input_tokens + r.output_tokens + r.cache_read_tokens]
    assert tokens and all(r.cost_usd == 0.0 for r in tokens), "tokens must never be priced on top of cost.usage"
    assert all(r.observed_at is not None and r.source == "claude_code_otel" and r.tool == "claude_code"
               for r in found if isinstance(r, UsageRow))


def _session_only(session_id: str, tmp_path: Path) -> Path:
    """The cumulative export cut down to the resources of one session."""
    document = json.loads(CUMULATIVE.read_text())
    document["resourceMetrics"] = [
        rm for rm in document["resourceMetrics"]
        if any(a["key"] == "session.id" and a["value"]["stringValue"] == session_id
               for p in points({"resourceMetrics": [rm]}) for a in p["attributes"])
    ]
    assert len(document["resourceMetrics"]) == 1
    path = tmp_path / "session.json"
    path.write_text(json.dumps(document))
    return path


def _figures(found: Iterable[Any]) -> Counter[tuple[str, ...]]:
    figures: Counter[tuple[str, ...]] = Counter()
    for row in found:
        if isinstance(row, UsageRow):
            for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
                figures[(row.identity.value, row.model, name)] += getattr(row, name)
            figures[(row.identity.value, row.model, "cost_micro")] += round((row.cost_usd or 0) * 1_000_000)
        elif isinstance(row, ActivityRow):
            figures[(row.identity.value, row.metric)] += round(row.value)
    return figures


def test_the_delta_exports_add_up_to_the_sessions_cumulative_points(tmp_path: Path) -> None:
    first = json.loads(DELTA.read_text().splitlines()[0])
    session = next(a["value"]["stringValue"] for p in points(first) for a in p["attributes"]
                   if a["key"] == "session.id")
    delta = rows(parse(DELTA))
    assert len({r.record_key for r in delta if isinstance(r, UsageRow)}) == 4 * 5  # 4 exports x (4 token kinds + cost)
    assert all(r.observed_at is None for r in delta if isinstance(r, UsageRow))
    cumulative = _figures(rows(parse(_session_only(session, tmp_path))))
    assert cumulative[("ben@acme.test", "sessions")] == 1
    assert _figures(delta) == cumulative


def _usage(engine: Engine) -> list[tuple[str, int, int, float | None]]:
    with Session(engine) as session:
        found = session.exec(select(Usage.record_key, Usage.input_tokens, Usage.output_tokens, Usage.cost_usd))
        return sorted(found.all())


def _activity(engine: Engine) -> list[tuple[str, str, float]]:
    with Session(engine) as session:
        return sorted(session.exec(select(Activity.record_key, Activity.metric, Activity.value)).all())


def _older(tmp_path: Path) -> Path:
    """The same export taken an hour earlier, when every running total was smaller."""
    document = json.loads(CUMULATIVE.read_text())
    for point in points(document):
        point["timeUnixNano"] = str(int(point["timeUnixNano"]) - 3_600_000_000_000)
        point["asDouble"] = point["asDouble"] // 2
    path = tmp_path / "older.json"
    path.write_text(json.dumps(document))
    return path


def test_reingest_of_the_cumulative_export_changes_nothing(sqlite_engine: Engine) -> None:
    first = ingest_file(sqlite_engine, CUMULATIVE)
    before = _usage(sqlite_engine), _activity(sqlite_engine)
    again = ingest_file(sqlite_engine, CUMULATIVE)
    assert first.stored > 0 and again.stored == 0
    assert (_usage(sqlite_engine), _activity(sqlite_engine)) == before


def test_an_older_cumulative_export_after_a_newer_leaves_usage_alone(sqlite_engine: Engine, tmp_path: Path) -> None:
    ingest_file(sqlite_engine, CUMULATIVE)
    before = _usage(sqlite_engine)
    older = ingest_file(sqlite_engine, _older(tmp_path))
    assert older.rejected == 0
    assert _usage(sqlite_engine) == before


def test_an_older_cumulative_export_after_a_newer_leaves_activity_alone(sqlite_engine: Engine, tmp_path: Path) -> None:
    ingest_file(sqlite_engine, CUMULATIVE)
    before = _activity(sqlite_engine)
    ingest_file(sqlite_engine, _older(tmp_path))
    assert _activity(sqlite_engine) == before


def test_a_newer_cumulative_export_replaces_the_older(sqlite_engine: Engine, tmp_path: Path) -> None:
    ingest_file(sqlite_engine, _older(tmp_path))
    older = _usage(sqlite_engine)
    ingest_file(sqlite_engine, CUMULATIVE)
    newer = _usage(sqlite_engine)
    assert [key for key, *_ in older] == [key for key, *_ in newer]
    assert sum(i for _, i, _, _ in newer) > sum(i for _, i, _, _ in older)


def test_a_duplicated_delta_line_counts_once(sqlite_engine: Engine, tmp_path: Path) -> None:
    text = DELTA.read_text().splitlines()
    doubled = tmp_path / "doubled.jsonl"
    doubled.write_text("\n".join([*text, text[1]]) + "\n")
    assert rows(stored(doubled)) == rows(stored(DELTA))
    ingest_file(sqlite_engine, DELTA)
    before = _usage(sqlite_engine)
    resent = tmp_path / "resent.jsonl"
    resent.write_text(text[1] + "\n")
    assert ingest_file(sqlite_engine, resent).stored == 0
    assert _usage(sqlite_engine) == before


def test_cumulative_json_lines_keep_the_newest_point_of_each_series(tmp_path: Path) -> None:
    newer = json.dumps(json.loads(CUMULATIVE.read_text()))
    older = _older(tmp_path).read_text()
    path = tmp_path / "exports.jsonl"
    path.write_text(f"{newer}\n{older}\n")
    assert rows(stored(path)) == rows(stored(CUMULATIVE))


def test_email_is_linked_to_account_and_user_id_once_per_file() -> None:
    links = [r for r in rows(stored(CUMULATIVE)) if isinstance(r, IdentityLink)]
    assert len(links) == len(set(links))
    ben = {link.also for link in links if link.known == IdentityRef.of("email", "ben@acme.test")}
    assert ben == {IdentityRef("anthropic_account", "user_015cPRsatdsBRUcPMQrkyYGe"),
                   IdentityRef("otel", "777fce0aeff93fa6147ec1c7b190d9d0a9f544bf209ba1e403443d602f645f04")}


def _export(point_attributes: dict[str, str], value: dict[str, Any], resource: dict[str, str] | None = None,
            metric: str = "claude_code.token.usage", temporality: int = 1) -> dict[str, Any]:
    def kv(items: dict[str, str]) -> list[dict[str, Any]]:
        return [{"key": k, "value": {"stringValue": v}} for k, v in items.items()]
    point = {"attributes": kv(point_attributes), "startTimeUnixNano": "1794902628606543000",
             "timeUnixNano": "1794903798606543000", **value}
    return {"resourceMetrics": [{"resource": {"attributes": kv(resource or {})}, "scopeMetrics": [{"metrics": [
        {"name": metric, "sum": {"aggregationTemporality": temporality, "dataPoints": [point]}}]}]}]}


def _parse_one(document: dict[str, Any], tmp_path: Path) -> list[Record | Rejection]:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(document, indent=2))
    return parse(path)


@pytest.mark.parametrize(
    ("attributes", "resource", "expected"),
    [
        ({"user.account_id": "user_01X", "user.id": "abc"}, {}, IdentityRef("anthropic_account", "user_01X")),
        ({"user.id": "abc"}, {}, IdentityRef("otel", "abc")),
        ({}, {"user.email": "Ana@Acme.test"}, IdentityRef("email", "ana@acme.test")),  # on the resource
    ],
)
def test_identity_falls_back_from_email_to_account_to_user_id(
    attributes: dict[str, str], resource: dict[str, str], expected: IdentityRef, tmp_path: Path
) -> None:
    found = rows(_parse_one(_export({**attributes, "type": "input", "model": "claude-opus-4-6"}, {"asInt": "42"},
                                    resource), tmp_path))
    usage = [r for r in found if isinstance(r, UsageRow)]
    assert [(r.identity, r.input_tokens, r.cost_usd, r.day) for r in usage] == [(expected, 42, 0.0, DAY)]


def test_cost_points_carry_the_cost_and_no_tokens(tmp_path: Path) -> None:
    document = _export({"user.email": "ana@acme.test", "model": "claude-haiku-4-5-20251001"}, {"asDouble": 1.25},
                       metric="claude_code.cost.usage", temporality=2)
    [row] = [r for r in rows(_parse_one(document, tmp_path)) if isinstance(r, UsageRow)]
    assert (row.model, row.cost_usd, row.input_tokens + row.output_tokens) == ("claude-haiku-4-5", 1.25, 0)
    assert row.observed_at is not None and row.observed_at.date() == DAY


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (_export({"user.email": "a@x.test", "type": "input"}, {"asInt": "1"}), "model"),
        (_export({"user.email": "a@x.test", "type": "thinking", "model": "m"}, {"asInt": "1"}), "attributes.type"),
        (_export({"type": "input", "model": "m"}, {"asInt": "1"}), "user.email"),
        (_export({"user.email": "a@x.test", "type": "input", "model": "m"}, {}), "asInt or asDouble"),
        (_export({"user.email": "a@x.test", "type": "input", "model": "m"}, {"asDouble": -3}), "asDouble"),
        (_export({"user.email": "a@x.test", "type": "input", "model": "m"}, {"asInt": "1"}, temporality=0),
         "aggregationTemporality"),
    ],
)
def test_a_bad_point_is_rejected_with_its_location(document: dict[str, Any], reason: str, tmp_path: Path) -> None:
    [rejection] = [i for i in _parse_one(document, tmp_path) if isinstance(i, Rejection)]
    assert rejection.location.startswith("resourceMetrics[0].scopeMetrics[0].metrics[0]")
    assert reason in rejection.reason


def test_a_truncated_json_line_is_rejected_and_the_other_exports_kept(tmp_path: Path) -> None:
    text = DELTA.read_text().splitlines()
    path = tmp_path / "cut.jsonl"
    path.write_text("\n".join([text[0], text[1][:500], *text[2:]]) + "\n")
    items = parse(path)
    assert [i.location for i in items if isinstance(i, Rejection)] == ["line 2"]
    assert len([r for r in rows(items) if isinstance(r, UsageRow)]) == 3 * 5


def test_unknown_metrics_are_ignored(tmp_path: Path) -> None:
    document = _export({"user.email": "a@x.test", "type": "user"}, {"asDouble": 9.0},
                       metric="claude_code.active_time.total")
    assert _parse_one(document, tmp_path) == []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**9)), min_size=1, max_size=8,
                unique_by=lambda r: r[0]))
def test_cumulative_exports_in_any_order_keep_the_newest_reading(readings: list[tuple[int, int]]) -> None:
    start = 1794902628606543000
    lines = []
    for offset, value in readings:
        document = _export({"user.email": "a@x.test", "type": "output", "model": "claude-opus-4-6"},
                           {"asInt": str(value)}, temporality=2)
        next(iter(points(document)))["timeUnixNano"] = str(start + 1 + offset * 1000)
        lines.append(json.dumps(document))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "exports.jsonl"
        path.write_text("\n".join(lines) + "\n")
        [row] = [r for r in rows(stored(path)) if isinstance(r, UsageRow)]
    newest = max(readings)
    assert row.output_tokens == newest[1]
    assert row.observed_at == utc_day_of_ns(start + 1 + newest[0] * 1000)[1]


MY_FEEDS = {  # fixture file name -> the feed of this change that must claim it (and no other file)
    "claude_code_otlp_metrics.json": "claude_code_otel",
    "claude_code_otlp_metrics.delta.jsonl": "claude_code_otel",
    "litellm_spend_logs.json": "litellm",
    "cursor_daily_usage.json": "cursor_daily",
    "cursor_usage_events.json": "cursor_events",
    "copilot_user_metrics.ndjson": "copilot_usage",
    "copilot_billing_seats.json": "copilot_seats",
    "copilot_metrics.json": "copilot_metrics",
}


def test_each_usage_feed_sniffer_claims_only_its_own_fixtures() -> None:
    files = sorted(p for p in FIXTURES.rglob("*") if p.suffix in {".json", ".jsonl", ".ndjson", ".csv"})
    assert {p.name for p in files} >= set(MY_FEEDS)
    claims = []
    for path in files:
        head = path.read_text(encoding="utf-8", errors="replace")[:65536]
        for source in sorted(set(MY_FEEDS.values())):
            if FEEDS[source].sniff(head) != (MY_FEEDS.get(path.name) == source):
                claims.append((str(path.relative_to(FIXTURES)), source))
    assert claims == [], "sniffers that claim a foreign file or miss their own"
