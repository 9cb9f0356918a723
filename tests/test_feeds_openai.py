"""OpenAI usage and costs: the adapter contract, token mapping, identities, restated buckets, the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.core.prices import normalise_model
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import BilledRow, Record, Rejection, UsageRow, Window
from bot.ingest.feeds.openai_costs import line_item_model
from bot.ingest.files import ingest_file
from storage.models import Usage
from storage.models import table as table_of
from tests.conftest import FIXTURES
from tests.contract import FeedCase, as_stored, check_contract

USAGE = FIXTURES / "openai_usage_completions.json"
COSTS = FIXTURES / "openai_costs.json"
NOV_9 = 1794182400  # 2026-11-09T00:00:00Z


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def parse(source: str, path: Path) -> list[Record | Rejection]:
    return list(FEEDS[source].parse(path))


def rows(items: Iterable[Record | Rejection]) -> list[Any]:
    return [row for item in items if isinstance(item, Record) for row in item.rows]


def write(tmp_path: Path, document: Any, name: str = "page.json") -> Path:
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
    for bucket in document["data"]:
        bucket["x_bucket_note"] = "new"
        for result in bucket["results"]:
            result["x_unknown_field"] = {"nested": [1, 2]}
    return json.dumps(document)


EMPTY_PAGE = '{"object": "page", "data": [], "has_more": false, "next_page": null}'
CASES = [
    FeedCase(
        "openai_usage", USAGE,
        corrupt=_change_result(3, 2, lambda r: r.update(input_cached_tokens=r["input_tokens"] + 1)),
        bad_location="data[3].results[2]", add_unknown_field=_unknown_everywhere, empty=EMPTY_PAGE,
    ),
    FeedCase(
        "openai_costs", COSTS,
        corrupt=_change_result(1, 0, lambda r: r.update(amount={"value": "lots", "currency": "usd"})),
        bad_location="data[1].results[0]", add_unknown_field=_unknown_everywhere, empty=EMPTY_PAGE,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_feed_contract(case: FeedCase, sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(case, sqlite_engine, tmp_path)


# --- usage ------------------------------------------------------------------------------------------

def utc_day(seconds: int) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


def test_tokens_per_identity_day_and_model_are_the_report_fields() -> None:
    expected = {}
    for bucket in load(USAGE)["data"]:
        for r in bucket["results"]:
            who = ("openai_user", r["user_id"]) if r["user_id"] else ("api_key", r["api_key_id"])
            cached, written = r.get("input_cached_tokens") or 0, r.get("input_cache_write_tokens") or 0
            expected[(*who, utc_day(bucket["start_time"]), normalise_model(r["model"]))] = (
                r["input_tokens"] - cached - written, r["output_tokens"], cached, written, r["num_model_requests"])
    found = {}
    for row in rows(parse("openai_usage", USAGE)):
        assert isinstance(row, UsageRow)
        assert (row.source, row.provider, row.tool, row.cost_usd) == ("openai_usage", "openai", "openai_api", None)
        key = (row.identity.kind, row.identity.value, row.day, row.model)
        assert key not in found
        found[key] = (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens, row.requests)
    assert found == expected and len(found) == 43
    assert min(k[2] for k in found) == date(2026, 11, 9) and max(k[2] for k in found) == date(2026, 11, 22)
    assert {(k[0], k[1]) for k in found} == {
        ("api_key", "key_KAHAsJHF22254gKp"), ("openai_user", "user-tVR7neB8Vs9gr7BVGKZSptQX")}


def result(**fields: Any) -> dict[str, Any]:
    base = {"object": "organization.usage.completions.result", "input_tokens": 100, "output_tokens": 7,
            "num_model_requests": 2, "project_id": None, "user_id": None, "api_key_id": None,
            "model": "gpt-5-mini-2025-08-07"}
    return {**base, **fields}


def page(*buckets: tuple[int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {"object": "page", "has_more": False, "next_page": None, "data": [
        {"object": "bucket", "start_time": start, "end_time": start + 86400, "results": results}
        for start, results in buckets]}


def test_identity_falls_back_from_user_to_key_to_project(tmp_path: Path) -> None:
    document = page((NOV_9, [result(user_id="user-1", api_key_id="key_1", project_id="proj_1"),
                             result(api_key_id="key_1", project_id="proj_1"), result(project_id="proj_1"), result()]))
    found = rows(parse("openai_usage", write(tmp_path, document)))
    assert [(r.identity.kind, r.identity.value) for r in found] == [
        ("openai_user", "user-1"), ("api_key", "key_1"), ("openai_project", "proj_1"), ("openai_project", "default")]
    # missing counts are 0
    assert [(r.input_tokens, r.cache_read_tokens, r.cache_write_tokens) for r in found] == [(100, 0, 0)] * 4
    assert {r.model for r in found} == {"gpt-5-mini"} and len({r.record_key for r in found}) == 4


def test_cache_writes_come_out_of_input(tmp_path: Path) -> None:
    document = page((NOV_9, [result(input_tokens=1000, input_cached_tokens=600, input_cache_write_tokens=150)]))
    (row,) = rows(parse("openai_usage", write(tmp_path, document)))
    assert (row.input_tokens, row.cache_read_tokens, row.cache_write_tokens) == (250, 600, 150)


def test_more_cached_than_input_is_rejected_with_its_location(tmp_path: Path) -> None:
    document = page((NOV_9, [result(api_key_id="a")]),
                    (NOV_9 + 86400, [result(api_key_id="a"),
                                     result(api_key_id="b", input_tokens=10, input_cached_tokens=8,
                                            input_cache_write_tokens=5)]))
    items = parse("openai_usage", write(tmp_path, document))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == ["data[1].results[1]"]
    assert "input_tokens" in rejected[0].reason and "13" in rejected[0].reason
    windows = {i.location: i.window for i in items if isinstance(i, Record)}
    assert windows == {"data[0].results[0]": Window("openai_usage", date(2026, 11, 9)), "data[1].results[0]": None}


@pytest.mark.parametrize(
    "bucket", [{"start_time": NOV_9 + 3600}, {"end_time": NOV_9 + 3600}, {"start_time": "yesterday"}])
def test_a_bucket_that_is_not_a_utc_day_is_rejected_whole(bucket: dict[str, Any], tmp_path: Path) -> None:
    document = page((NOV_9, [result(api_key_id="a")]), (NOV_9 + 86400, [result(api_key_id="a")]))
    document["data"][0].update(bucket)
    items = parse("openai_usage", write(tmp_path, document))
    assert [(type(i).__name__, i.location) for i in items] == [
        ("Rejection", "data[0]"), ("Record", "data[1].results[0]")]


def usage_rows(engine: Engine, day: date) -> dict[str, tuple[int, int]]:
    table = table_of(Usage)
    query = select(table.c.record_key, table.c.input_tokens, table.c.output_tokens).where(
        table.c.source == "openai_usage", table.c.day == day)
    with engine.connect() as conn:
        return {key: (i, o) for key, i, o in conn.execute(query)}


def test_a_restated_bucket_replaces_its_figures_and_deletes_what_is_gone(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, USAGE)
    original = load(USAGE)
    bucket = original["data"][3]
    day = utc_day(bucket["start_time"])
    before = usage_rows(engine, day)
    assert len(before) == len(bucket["results"]) == 4
    bucket["results"][0]["output_tokens"] += 500
    removed = bucket["results"].pop(2)
    report = ingest_file(engine, write(tmp_path, {**original, "data": [bucket]}))
    assert (report.rejected, report.stored, report.duplicates) == (0, 1, 2)
    after = usage_rows(engine, day)
    (gone,) = set(before) - set(after)
    assert before[gone][1] == removed["output_tokens"]
    assert sorted(after[k][1] - before[k][1] for k in after) == [0, 0, 500]
    assert usage_rows(engine, utc_day(original["data"][2]["start_time"])) != {}


# --- costs ------------------------------------------------------------------------------------------

def test_costs_are_dollars_and_sum_to_the_known_total() -> None:
    raw = [(utc_day(b["start_time"]), r) for b in load(COSTS)["data"] for r in b["results"]]
    assert round(sum(r["amount"]["value"] for _, r in raw), 2) == 144.65
    found = rows(parse("openai_costs", COSTS))
    assert all(isinstance(r, BilledRow) and (r.source, r.provider) == ("openai_costs", "openai") for r in found)
    assert [(r.day, r.amount_usd, r.description) for r in found] == [
        (day, r["amount"]["value"], r["line_item"]) for day, r in raw]
    assert round(sum(r.amount_usd for r in found), 2) == 144.65
    assert {r.model for r in found} == {"gpt-5", "gpt-4.1", "gpt-5-mini", "gpt-5.5"}
    assert len({r.record_key for r in found}) == len(found)


@pytest.mark.parametrize(("line_item", "model"), [
    ("gpt-5-mini-2025-08-07, cached input", "gpt-5-mini"), ("gpt-4o-2024-08-06, input", "gpt-4o"),
    ("gpt-5.6-luna, output", "gpt-5.6-luna"), ("web search tool calls", None), (None, None), (", input", None),
])
def test_the_model_is_read_from_the_line_item(line_item: str | None, model: str | None) -> None:
    assert line_item_model(line_item) == model


def test_non_dollar_costs_and_repeated_lines_are_rejected(tmp_path: Path) -> None:
    line = {"object": "organization.costs.result", "amount": {"value": 2, "currency": "usd"},
            "line_item": "gpt-5, input", "project_id": "proj_1"}
    document = {"data": [{"start_time": NOV_9, "results": [
        line, {**line, "amount": {"value": 2, "currency": "eur"}}, {**line, "project_id": "proj_2"}, line]}]}
    items = as_stored("openai_costs", write(tmp_path, document))
    assert [(r.amount_usd, r.model) for r in rows(items)] == [(2.0, "gpt-5")] * 2
    assert [i.location for i in items if isinstance(i, Rejection)] == ["data[0].results[1]", "data[0].results[3]"]
