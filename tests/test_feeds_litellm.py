"""LiteLLM spend logs: one usage row per request at the proxy's spend, from a page or streamed JSON-lines."""

from __future__ import annotations

import copy
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.core.prices import normalise_model
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import IdentityRef, Record, Rejection, UsageRow
from bot.ingest.files import ingest_file
from tests.conftest import FIXTURES
from tests.contract import FeedCase, as_stored, check_contract

PAGE = FIXTURES / "litellm_spend_logs.json"
FEED = FEEDS["litellm"]
GATEWAY_KEY = "key_KAHAsJHF22254gKp"


def page_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(PAGE.read_text())["data"]
    return rows


def usage(items: Iterable[Record | Rejection]) -> list[UsageRow]:
    return [row for item in items if isinstance(item, Record) for row in item.rows if isinstance(row, UsageRow)]


def write_lines(path: Path, rows: Iterable[Any]) -> Path:
    with path.open("w") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def _first_row(text: str, change: dict[str, Any]) -> str:
    document = json.loads(text)
    document["data"][0].update(change)
    return json.dumps(document, indent=1)


def _every_row(text: str) -> str:
    document = json.loads(text)
    for row in document["data"]:
        row["x_unknown_field"] = {"nested": [1]}
        row["metadata"]["x_unknown_field"] = 1
    return json.dumps(document, indent=1)


def _lines_edit(text: str, index: int | None, change: dict[str, Any]) -> str:
    rows = [json.loads(line) for line in text.splitlines()]
    for i, row in enumerate(rows):
        if index is None or i == index:
            row.update(change)
    return "".join(json.dumps(row) + "\n" for row in rows)


PAGE_CASE = FeedCase(
    "litellm", PAGE,
    corrupt=lambda t: _first_row(t, {"spend": "free"}), bad_location="data[0]",
    add_unknown_field=_every_row, empty='{"data": [], "total": 0, "page": 1, "page_size": 50, "total_pages": 0}',
)


def test_feed_contract_page(sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(PAGE_CASE, sqlite_engine, tmp_path)


def test_feed_contract_json_lines(sqlite_engine: Engine, tmp_path: Path) -> None:
    fixture = write_lines(tmp_path / "spend.jsonl", page_rows())
    case = FeedCase(
        "litellm", fixture,
        corrupt=lambda t: _lines_edit(t, 2, {"startTime": "teatime"}), bad_location="line 3",
        add_unknown_field=lambda t: _lines_edit(t, None, {"x_unknown_field": [1]}), empty="",
    )
    check_contract(case, sqlite_engine, tmp_path)


def _openai_gateway_day() -> dict[str, tuple[int, int, int, int]]:
    document = json.loads((FIXTURES / "openai_usage_completions.json").read_text())
    totals: Counter[tuple[str, int]] = Counter()
    for bucket in document["data"]:
        if bucket["start_time"] != 1794873600:  # 2026-11-17T00:00:00Z
            continue
        for result in bucket["results"]:
            if result["api_key_id"] == GATEWAY_KEY:
                model = normalise_model(result["model"])
                names = ("input_tokens", "input_cached_tokens", "output_tokens", "num_model_requests")
                for i, name in enumerate(names):
                    totals[(model, i)] += result[name]
    models = {model for model, _ in totals}
    return {m: (totals[(m, 0)], totals[(m, 1)], totals[(m, 2)], totals[(m, 3)]) for m in models}


def test_tokens_and_requests_per_model_equal_the_openai_rows_of_the_gateway_key() -> None:
    totals: Counter[tuple[str, int]] = Counter()
    for row in usage(FEED.parse(PAGE)):
        assert row.day == date(2026, 11, 17)
        for i, value in enumerate((row.input_tokens + row.cache_read_tokens, row.cache_read_tokens,
                                   row.output_tokens, row.requests)):
            totals[(row.model, i)] += value
    ours = {m: (totals[(m, 0)], totals[(m, 1)], totals[(m, 2)], totals[(m, 3)]) for m, _ in totals}
    expected = _openai_gateway_day()
    assert len(expected) >= 3
    assert ours == expected


def test_a_request_becomes_a_gateway_row_at_its_spend() -> None:
    row = usage(FEED.parse(PAGE))[0]
    raw = page_rows()[0]
    cached = raw["metadata"]["additional_usage_values"]["prompt_tokens_details"]["cached_tokens"]
    assert (row.record_key, row.identity, row.provider, row.tool, row.billing) == (
        raw["request_id"], IdentityRef("litellm", "cara@acme.test"), "openai", "litellm", "gateway")
    assert (row.input_tokens, row.cache_read_tokens, row.output_tokens) == (
        raw["prompt_tokens"] - cached, cached, raw["completion_tokens"])
    assert (row.requests, row.cost_usd) == (1, raw["spend"])


def _one(tmp_path: Path, **change: Any) -> list[Record | Rejection]:
    row = copy.deepcopy(page_rows()[0])
    for key, value in change.items():
        if key.startswith("meta_"):
            row["metadata"][key[5:]] = value
        else:
            row[key] = value
    return list(FEED.parse(write_lines(tmp_path / "one.jsonl", [row])))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, IdentityRef("litellm", "cara@acme.test")),
        ({"user": ""}, IdentityRef("litellm", "cara@acme.test")),  # the key's user id
        ({"user": "", "meta_user_api_key_user_id": None}, IdentityRef("litellm", "cara-laptop")),  # the key alias
    ],
)
def test_identity_is_the_user_else_the_keys_user_else_the_key_alias(
    change: dict[str, Any], expected: IdentityRef, tmp_path: Path
) -> None:
    assert [r.identity for r in usage(_one(tmp_path, **change))] == [expected]


def test_a_request_with_nobody_to_attribute_it_to_is_rejected(tmp_path: Path) -> None:
    items = _one(tmp_path, user=None, meta_user_api_key_user_id="", meta_user_api_key_alias=None)
    assert [(i.location, "user" in i.reason) for i in items if isinstance(i, Rejection)] == [("line 1", True)]


@pytest.mark.parametrize(
    ("start", "day"),
    [
        ("2026-11-17T23:59:59.500000+00:00", date(2026, 11, 17)),
        ("2026-11-17T23:59:59Z", date(2026, 11, 17)),
        ("2026-11-17T23:59:59", date(2026, 11, 17)),  # naive is UTC
        ("2026-11-18T01:30:00+02:00", date(2026, 11, 17)),
        ("2026-11-17T22:30:00-02:00", date(2026, 11, 18)),
    ],
)
def test_the_day_is_the_utc_day_of_start_time(start: str, day: date, tmp_path: Path) -> None:
    assert [r.day for r in usage(_one(tmp_path, startTime=start))] == [day]


def test_failures_still_count_at_the_spend_given_and_other_providers_keep_their_names(tmp_path: Path) -> None:
    [row] = usage(_one(tmp_path, status="failure", spend=0.0125, custom_llm_provider="bedrock",
                       model_group=None, model="bedrock/anthropic.claude-haiku-4-5-20251001"))
    assert (row.provider, row.model, row.cost_usd, row.requests) == ("bedrock", "anthropic.claude-haiku-4-5", 0.0125, 1)
    [unknown] = usage(_one(tmp_path, custom_llm_provider=None))
    assert unknown.provider == "unknown"


def test_cached_tokens_are_read_from_the_usage_object_too(tmp_path: Path) -> None:
    usage_object = {"prompt_tokens_details": {"cached_tokens": 1000}, "cache_creation_input_tokens": 200}
    [row] = usage(_one(tmp_path, prompt_tokens=5000, meta_additional_usage_values=None, meta_usage_object=usage_object))
    assert (row.input_tokens, row.cache_read_tokens, row.cache_write_tokens) == (3800, 1000, 200)
    [plain] = usage(_one(tmp_path, prompt_tokens=5000, meta_additional_usage_values=None))
    assert (plain.input_tokens, plain.cache_read_tokens) == (5000, 0)


def test_more_cached_than_prompt_tokens_is_rejected(tmp_path: Path) -> None:
    [item] = _one(tmp_path, prompt_tokens=10)
    assert isinstance(item, Rejection) and "prompt_tokens" in item.reason


def test_a_truncated_line_is_rejected_at_its_line_and_the_rest_kept(tmp_path: Path) -> None:
    rows = page_rows()
    cut = json.dumps(rows[4])[:200]
    path = write_lines(tmp_path / "cut.jsonl", [*rows[:4], cut, "", *rows[5:]])
    items = list(FEED.parse(path))
    assert [(i.location, "JSON" in i.reason) for i in items if isinstance(i, Rejection)] == [("line 5", True)]
    assert len(usage(items)) == len(rows) - 1


def test_a_request_repeated_in_one_file_counts_once(sqlite_engine: Engine, tmp_path: Path) -> None:
    rows = page_rows()
    path = write_lines(tmp_path / "twice.jsonl", [*rows, rows[0], rows[1]])
    assert len(usage(as_stored("litellm", path))) == len(rows)
    report = ingest_file(sqlite_engine, path)
    assert (report.rejected, report.stored, report.skipped) == (0, len(rows), 2)


def test_json_lines_are_streamed_not_loaded_whole(tmp_path: Path) -> None:
    template = page_rows()
    path = tmp_path / "big.jsonl"
    with path.open("w") as handle:
        for i in range(6000):
            row = dict(template[i % len(template)], request_id=f"req-{i}")
            handle.write(json.dumps(row) + "\n")
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for item in FEED.parse(path) if isinstance(item, Record))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 6000
    assert peak < size / 4, f"peak {peak} bytes for a {size}-byte file"
