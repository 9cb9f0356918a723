"""Anthropic usage and cost reports: the adapter contract, token mapping, restated buckets, the ledger."""

from __future__ import annotations

import copy
import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.core.prices import normalise_model
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import ActivityRow, BilledRow, Record, Rejection, UsageRow, Window
from bot.ingest.files import ingest_file
from storage.models import Usage
from storage.models import table as table_of
from tests.conftest import FIXTURES
from tests.contract import FeedCase, as_stored, check_contract

USAGE = FIXTURES / "anthropic_usage_report.json"
USAGE_PAGE2 = FIXTURES / "anthropic_usage_report.page2.json"
COST = FIXTURES / "anthropic_cost_report.json"
CI_KEY = "apikey_01kELTCsFuSzU1yyLrzgCc4F"  # the ci-pr-review key (FORMATS.md §3 invariants)


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def parse(source: str, path: Path) -> list[Record | Rejection]:
    return list(FEEDS[source].parse(path))


def rows(items: Iterable[Record | Rejection]) -> list[Any]:
    return [row for item in items if isinstance(item, Record) for row in item.rows]


def write(tmp_path: Path, document: Any, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def _change_result(bucket: int, result: int, change: Callable[[dict], None]) -> Callable[[str], str]:
    def corrupt(text: str) -> str:
        document = json.loads(text)
        change(document["data"][bucket]["results"][result])
        return json.dumps(document)
    return corrupt


def _unknown_everywhere(text: str) -> str:
    document = json.loads(text)
    document["x_page_note"] = "new"
    for bucket in document["data"]:
        bucket["x_bucket_note"] = 1
        for result in bucket["results"]:
            result["x_unknown_field"] = {"nested": [1, 2]}
    return json.dumps(document)


EMPTY_PAGE = '{"data": [], "has_more": false, "next_page": null}'
CASES = [
    FeedCase(
        "anthropic_usage", USAGE, corrupt=_change_result(2, 1, lambda r: r.update(output_tokens=-5)),
        bad_location="data[2].results[1]", add_unknown_field=_unknown_everywhere, empty=EMPTY_PAGE,
    ),
    FeedCase(
        "anthropic_cost", COST, corrupt=_change_result(3, 4, lambda r: r.update(amount="twelve")),
        bad_location="data[3].results[4]", add_unknown_field=_unknown_everywhere, empty=EMPTY_PAGE,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_feed_contract(case: FeedCase, sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(case, sqlite_engine, tmp_path)


# --- usage report ---------------------------------------------------------------------------------

def raw_results(*paths: Path) -> Iterable[tuple[str, dict[str, Any]]]:
    for path in paths:
        for bucket in load(path)["data"]:
            for result in bucket["results"]:
                yield bucket["starting_at"][:10], result


def test_tokens_per_account_day_and_model_are_the_report_fields() -> None:
    expected: dict[tuple[str, str, str], tuple[int, ...]] = {}
    for day, r in raw_results(USAGE, USAGE_PAGE2):
        if r["account_id"]:
            cache = r["cache_creation"]
            five, hour = cache["ephemeral_5m_input_tokens"], cache["ephemeral_1h_input_tokens"]
            key = (r["account_id"], day, normalise_model(r["model"]))
            expected[key] = (
                r["uncached_input_tokens"], r["output_tokens"], r["cache_read_input_tokens"], five + hour, hour)
    found = {}
    for row in rows(parse("anthropic_usage", USAGE) + parse("anthropic_usage", USAGE_PAGE2)):
        if isinstance(row, UsageRow) and row.identity.kind == "anthropic_account":
            key = (row.identity.value, str(row.day), row.model)
            assert key not in found
            found[key] = (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens,
                          row.cache_write_1h_tokens)
            assert (row.tool, row.provider, row.cost_usd, row.requests) == ("claude_code", "anthropic", None, 0)
    assert found == expected and len(found) > 40
    assert any(hour > 0 for *_, hour in found.values())  # the 1-hour part is really exercised


def test_key_usage_is_the_api_and_web_searches_are_activity() -> None:
    found = rows(parse("anthropic_usage", USAGE))
    keyed = [r for r in found if isinstance(r, UsageRow) and r.identity.kind == "api_key"]
    assert {r.identity.value for r in keyed} == {
        "apikey_01zxFyow88vZd7F9uPSbiEE3", CI_KEY, "apikey_01Yy8W9RttzAaGSsQBsq7pFx"}
    assert {r.tool for r in keyed} == {"anthropic_api"}
    searches = {(str(r.day), r.identity.value): r.value for r in found if isinstance(r, ActivityRow)}
    expected = {(day, r["api_key_id"]): r["server_tool_use"]["web_search_requests"]
                for day, r in raw_results(USAGE) if r["server_tool_use"]["web_search_requests"] > 0}
    assert searches == expected and sum(expected.values()) == 223
    assert {r.metric for r in found if isinstance(r, ActivityRow)} == {"web_searches"}


def bucket(day: str, *results: dict[str, Any]) -> dict[str, Any]:
    end = date.fromisoformat(day) + timedelta(days=1)
    return {"starting_at": f"{day}T00:00:00Z", "ending_at": f"{end}T00:00:00Z", "results": list(results)}


def result(**fields: Any) -> dict[str, Any]:
    base = {"account_id": None, "api_key_id": None, "workspace_id": None, "model": "claude-sonnet-4-6",
            "uncached_input_tokens": 10, "output_tokens": 20, "cache_read_input_tokens": 30,
            "cache_creation": {"ephemeral_5m_input_tokens": 4, "ephemeral_1h_input_tokens": 5}}
    return {**base, **fields}


def test_identity_falls_back_from_account_to_key_to_workspace(tmp_path: Path) -> None:
    document = {"data": [bucket("2026-11-09", result(account_id="user_1", api_key_id="k"), result(api_key_id="k"),
                                result(workspace_id="wrkspc_9"), result(), result(service_tier="batch"))]}
    found = [r for r in rows(parse("anthropic_usage", write(tmp_path, document))) if isinstance(r, UsageRow)]
    assert [(r.identity.kind, r.identity.value, r.tool) for r in found] == [
        ("anthropic_account", "user_1", "claude_code"), ("api_key", "k", "anthropic_api"),
        ("anthropic_workspace", "wrkspc_9", "anthropic_api"), ("anthropic_workspace", "default", "anthropic_api"),
        ("anthropic_workspace", "default", "anthropic_api")]
    # The batch tier is its own group: a dimension present is part of the key, so nothing collides.
    assert len({r.record_key for r in found}) == 5 and "service_tier=batch" in found[4].record_key


def test_every_bucket_is_a_complete_window_even_when_empty(tmp_path: Path) -> None:
    document = {"data": [bucket("2026-11-09", result(api_key_id="k")), bucket("2026-11-10")]}
    items = parse("anthropic_usage", write(tmp_path, document))
    assert [(i.location, len(i.rows), i.window) for i in items if isinstance(i, Record)] == [
        ("data[0].results[0]", 1, Window("anthropic_usage", date(2026, 11, 9))),
        ("data[1]", 0, Window("anthropic_usage", date(2026, 11, 10)))]


def test_a_bad_result_is_rejected_and_its_bucket_is_no_longer_complete(tmp_path: Path) -> None:
    document = load(USAGE)
    document["data"][4]["results"][2]["cache_read_input_tokens"] = -1
    items = parse("anthropic_usage", write(tmp_path, document))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == ["data[4].results[2]"]
    assert "cache_read_input_tokens" in rejected[0].reason
    day4 = [i for i in items if isinstance(i, Record) and i.location.startswith("data[4]")]
    assert len(day4) == len(document["data"][4]["results"]) - 1 and {i.window for i in day4} == {None}
    others = [i for i in items if isinstance(i, Record) and not i.location.startswith("data[4]")]
    assert all(i.window is not None for i in others)


@pytest.mark.parametrize("broken", [{"starting_at": "2026-11-09T00:00:00"}, {"starting_at": "2026-11-09T06:00:00Z"},
                                    {"ending_at": "2026-11-09T01:00:00Z"}, {"results": "none"}])
def test_a_bucket_that_is_not_a_utc_day_is_rejected_whole(broken: dict[str, Any], tmp_path: Path) -> None:
    document = {"data": [{**bucket("2026-11-09", result(api_key_id="k")), **broken},
                         bucket("2026-11-10", result(api_key_id="k"))]}
    items = parse("anthropic_usage", write(tmp_path, document))
    assert [(type(i).__name__, i.location) for i in items] == [
        ("Rejection", "data[0]"), ("Record", "data[1].results[0]")]


def usage_rows(engine: Engine, day: date | None = None) -> dict[str, tuple[Any, ...]]:
    table = table_of(Usage)
    query = select(table.c.record_key, table.c.input_tokens, table.c.output_tokens, table.c.cache_read_tokens,
                   table.c.cache_write_tokens, table.c.cache_write_1h_tokens).where(table.c.source == "anthropic_usage")
    if day is not None:
        query = query.where(table.c.day == day)
    with engine.connect() as conn:
        return {key: tuple(rest) for key, *rest in conn.execute(query)}


def test_reingesting_both_pages_changes_nothing(engine: Engine) -> None:
    first = [ingest_file(engine, USAGE), ingest_file(engine, USAGE_PAGE2)]
    assert [(r.source, r.rejected, r.unusable) for r in first] == [("anthropic_usage", 0, False)] * 2
    before = usage_rows(engine)
    results = [r for _, r in raw_results(USAGE, USAGE_PAGE2)]
    searched = sum(1 for r in results if (r.get("server_tool_use") or {}).get("web_search_requests"))
    assert len(before) == len(results) + searched  # web searches are rows of their own
    again = [ingest_file(engine, USAGE), ingest_file(engine, USAGE_PAGE2)]
    assert [r.stored for r in again] == [0, 0] and usage_rows(engine) == before


def test_a_restated_bucket_replaces_its_figures_and_deletes_what_is_gone(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, USAGE)
    day = date(2026, 11, 11)
    before = usage_rows(engine, day)
    other_days = {k: v for k, v in usage_rows(engine).items() if not k.startswith(str(day))}
    restated = copy.deepcopy(load(USAGE)["data"][2])
    assert restated["starting_at"].startswith(str(day))
    changed, removed = restated["results"][0], restated["results"].pop(1)
    changed["output_tokens"] += 1000
    report = ingest_file(engine, write(tmp_path, {"data": [restated], "has_more": False, "next_page": None}))
    assert (report.rejected, report.stored) == (0, 1)
    after = usage_rows(engine, day)
    changed_keys = [k for k in after if after[k] != before[k]]
    assert len(changed_keys) == 1 and after[changed_keys[0]][1] == before[changed_keys[0]][1] + 1000
    (gone,) = set(before) - set(after)
    cache = removed["cache_creation"]
    assert before[gone] == (removed["uncached_input_tokens"], removed["output_tokens"],
                            removed["cache_read_input_tokens"],
                            cache["ephemeral_5m_input_tokens"] + cache["ephemeral_1h_input_tokens"],
                            cache["ephemeral_1h_input_tokens"])
    assert {k: v for k, v in usage_rows(engine).items() if not k.startswith(str(day))} == other_days


def test_an_empty_bucket_deletes_the_days_rows_but_an_incomplete_one_deletes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    ingest_file(engine, USAGE)
    days = [date(2026, 11, 12), date(2026, 11, 13)]
    counts = [len(usage_rows(engine, d)) for d in days]
    assert min(counts) > 2
    incomplete = copy.deepcopy(load(USAGE)["data"][4])
    incomplete["results"] = [dict(incomplete["results"][0], output_tokens="many")]  # one bad result, the rest gone
    report = ingest_file(engine, write(tmp_path, {"data": [bucket("2026-11-12"), incomplete]}))
    assert report.rejected == 1 and report.errors[0]["where"].endswith("data[1].results[0]")
    assert len(usage_rows(engine, days[0])) == 0
    assert len(usage_rows(engine, days[1])) == counts[1]


def test_a_negative_count_is_rejected_with_its_location(tmp_path: Path) -> None:
    document = {"data": [bucket("2026-11-09", result(api_key_id="a"),
                                result(api_key_id="b", uncached_input_tokens=-3))]}
    items = parse("anthropic_usage", write(tmp_path, document))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == ["data[0].results[1]"]
    assert "uncached_input_tokens" in rejected[0].reason and "-3" in rejected[0].reason


# --- the Claude Code analytics invariant ---------------------------------------------------------

def test_claude_code_analytics_equals_the_usage_report_per_person_model_and_day() -> None:
    """FORMATS.md §3: per (email, model, day), analytics tokens = the report's rows for that person's
    account_id with cache_creation = 5m + 1h; the ci-pr-review api_actor = the report's rows for its key."""
    with (FIXTURES / "people.csv").open() as handle:
        account_of = {p["email"]: p["anthropic_account_id"] for p in csv.DictReader(handle)}
    analytics: dict[tuple[str, date, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for path in sorted((FIXTURES / "claude_code_analytics").glob("*.json")):
        for row in rows(FEEDS["claude_code"].parse(path)):
            if isinstance(row, UsageRow):
                who = account_of[row.identity.value] if row.identity.kind == "email" else CI_KEY
                totals = analytics[(who, row.day, row.model)]
                counts = (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens)
                for i, n in enumerate(counts):
                    totals[i] += n
    report = {}
    for row in rows(parse("anthropic_usage", USAGE) + parse("anthropic_usage", USAGE_PAGE2)):
        if isinstance(row, UsageRow) and (row.identity.kind == "anthropic_account" or row.identity.value == CI_KEY):
            report[(row.identity.value, row.day, row.model)] = [
                row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens]
    assert len(analytics) > 40 and dict(analytics) == report


# --- cost report -----------------------------------------------------------------------------------

def test_cost_report_is_the_ledger_in_dollars_and_sums_to_the_known_total() -> None:
    found = rows(parse("anthropic_cost", COST))
    raw = [(bucket["starting_at"][:10], r) for bucket in load(COST)["data"] for r in bucket["results"]]
    assert (sum(Decimal(r["amount"]) for _, r in raw) / 100).quantize(Decimal("0.01")) == Decimal("1902.84")
    assert all(isinstance(r, BilledRow) and (r.source, r.provider) == ("anthropic_cost", "anthropic") for r in found)
    assert round(sum(r.amount_usd for r in found), 2) == 1902.84
    assert [(str(r.day), r.amount_usd, r.description) for r in found] == [
        (day, float(Decimal(r["amount"]) / 100), r["description"]) for day, r in raw]
    assert {r.model for r in found} == {"claude-haiku-4-5", "claude-sonnet-4-6", "claude-opus-4-6", None}
    assert len({r.record_key for r in found}) == len(found)


def test_cost_lines_differing_in_one_dimension_keep_apart_and_other_currencies_are_rejected(tmp_path: Path) -> None:
    line = {"amount": "150.5", "currency": "USD", "description": "Claude Sonnet 4.6 Usage - Input Tokens",
            "model": "claude-sonnet-4-6", "workspace_id": None, "service_tier": "standard"}
    document = {"data": [{"starting_at": "2026-11-09T00:00:00Z", "results": [
        line, {**line, "service_tier": "batch"}, {**line, "workspace_id": "wrkspc_1"}, {**line, "currency": "EUR"},
        line]}]}
    items = as_stored("anthropic_cost", write(tmp_path, document))
    assert [r.amount_usd for r in rows(items)] == [1.505] * 3
    rejected = [(i.location, i.reason.split(":")[0]) for i in items if isinstance(i, Rejection)]
    assert rejected == [
        ("data[0].results[3]", "currency"),
        ("data[0].results[4]", "the same line (2026-11-09|description=Claude Sonnet 4.6 Usage - Input Tokens"
                               "|model=claude-sonnet-4-6|service_tier=standard) appears twice in this file")]
