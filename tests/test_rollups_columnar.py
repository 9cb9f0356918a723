"""LiteLLM JSON-lines read by the columnar pass: the same rollups, tallies and rejections as record by record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from bot.core.privacy import identity_digest
from bot.ingest.feeds import FEEDS, litellm_columnar
from bot.ingest.feeds.base import EventSums
from bot.ingest.files import FileReport, ingest_file
from storage.models import Erasure, Usage, table
from storage.rollups import rollup_key
from tests.conftest import FIXTURES
from tests.test_rollups import _database, rollups

pytest.importorskip("duckdb")

TEMPLATE = json.loads((FIXTURES / "litellm_spend_logs.json").read_text())["data"]
CACHED = {"usage_object": {"prompt_tokens_details": {"cached_tokens": 30}, "cache_creation_input_tokens": 5}}


@contextmanager
def columnar(on: bool) -> Iterator[None]:
    saved = litellm_columnar.MIN_BYTES
    litellm_columnar.MIN_BYTES = 0 if on else 2**62
    try:
        yield
    finally:
        litellm_columnar.MIN_BYTES = saved


def varied(repeats: bool = True) -> list[dict[str, Any]]:
    """Rows that take every branch the parser takes: caches, tags, no provider, naive and offset times, repeats
    (a file without repeats takes the columnar pass's other branch: its sums come as rollup rows)."""
    rows = [dict(row) for row in TEMPLATE]
    metadata = {name: value for name, value in rows[0]["metadata"].items() if name != "additional_usage_values"}
    rows[0] = {**rows[0], "metadata": {**metadata, **CACHED}, "prompt_tokens": 100}
    rows[1] = {**rows[1], "request_tags": ["ticket:PLAT-9", "x"], "custom_llm_provider": None}
    rows[2] = {**rows[2], "model_group": "", "startTime": "2026-11-17T23:30:00-05:00"}
    rows[3] = {**rows[3], "startTime": "2026-11-17 10:00:00", "user": "", "request_tags": ["PLAT-12"]}
    rows[4] = {**rows[4], "metadata": {**rows[4]["metadata"], "spend_logs_metadata": {"branch": "fix/login"}}}
    rows[5] = {**rows[5], "user": "Ana@Acme.Test"}
    rows[8] = {**rows[8], "spend": 0, "startTime": "2026-11-17T08:00:00.5Z", "x_unknown": [1, {"a": None}]}
    rows[9] = {**rows[9], "custom_llm_provider": "", "metadata": {**rows[9]["metadata"], "usage_object": None}}
    return [*rows, rows[6], rows[0]] if repeats else rows  # two requests sent twice


def write(path: Path, rows: list[dict[str, Any]], bad: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(row) for row in rows]
    for index, text in (bad or {}).items():
        lines[index] = text
    path.write_text("\n".join(lines) + "\n\n")
    return path


def both(tmp_path: Path, path: Path, before: Path | None = None, forget: str | None = None,
         ) -> tuple[tuple[FileReport, Any], ...]:
    """The report and the rollups of ingesting `path` record by record, then with the columnar pass."""
    found = []
    for on in (False, True):
        engine = _database(tmp_path / f"columnar-{on}.db")
        if forget is not None:
            with engine.begin() as conn:
                conn.execute(insert(table(Erasure)).values(
                    at=datetime.now(UTC), subject="x", removed="{}",
                    identities=json.dumps([identity_digest("litellm", forget)])))
        with columnar(on):
            if before is not None:
                ingest_file(engine, before)
            report = ingest_file(engine, path)
        found.append((report, rollups(engine)))
        engine.dispose()
    return tuple(found)


@pytest.fixture(params=[True, False], ids=["repeats", "distinct"])
def repeats(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def counts(report: FileReport) -> tuple[int, ...]:
    return report.records, report.stored, report.duplicates, report.skipped, report.rejected


def test_the_columnar_pass_vouches_for_a_clean_file_and_reads_it_at_once(repeats: bool, tmp_path: Path) -> None:
    path = write(tmp_path / "spend.jsonl", varied(repeats))
    with columnar(True):
        items = list(FEEDS["litellm"].parse(path))
    assert len(items) == 1 and isinstance(items[0], EventSums)
    assert (items[0].events, items[0].repeats) == (len(TEMPLATE) + 2 * repeats, 2 * repeats)
    items[0].close()


def test_a_clean_file_gives_the_same_rollups_and_tally_either_way(repeats: bool, tmp_path: Path) -> None:
    (slow, slow_rollups), (fast, fast_rollups) = both(tmp_path, write(tmp_path / "spend.jsonl", varied(repeats)))
    assert counts(fast) == counts(slow) == (len(TEMPLATE) + 2 * repeats, len(TEMPLATE), 0, 2 * repeats, 0)
    assert fast_rollups == slow_rollups
    assert {key[8] for key in fast_rollups} >= {"ticket:PLAT-9", "ticket:PLAT-12", "branch:fix/login"}


def test_events_stored_before_are_duplicates_either_way(repeats: bool, tmp_path: Path) -> None:
    before = write(tmp_path / "before.jsonl", varied()[:20])
    path = write(tmp_path / "spend.jsonl", varied(repeats))
    (slow, slow_rollups), (fast, fast_rollups) = both(tmp_path, path, before)
    assert counts(fast) == counts(slow) and fast.duplicates == 20
    assert fast_rollups == slow_rollups


@pytest.mark.parametrize("change", [
    {"prompt_tokens": -1}, {"prompt_tokens": "12"}, {"spend": "free"}, {"startTime": "teatime"},
    {"request_id": ""}, {"user": None, "metadata": {}}, {"model": "", "model_group": None},
    {"metadata": {"usage_object": {"prompt_tokens_details": {"cached_tokens": 10**6}}}},
    {"startTime": "1999-12-31T23:00:00Z"}, {"user": " padded@acme.test "}, {"prompt_tokens": True},
])
def test_a_bad_record_is_rejected_as_the_parser_rejects_it_and_the_rest_kept(
    change: dict[str, Any], tmp_path: Path,
) -> None:
    rows = varied()
    rows[7] = {**rows[7], **change}
    (slow, slow_rollups), (fast, fast_rollups) = both(tmp_path, write(tmp_path / "spend.jsonl", rows))
    assert fast.errors == slow.errors and counts(fast) == counts(slow)
    assert fast_rollups == slow_rollups


def test_a_line_that_is_not_json_is_rejected_at_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "spend.jsonl", varied(), bad={4: '{"request_id": "cut'})
    (slow, slow_rollups), (fast, fast_rollups) = both(tmp_path, path)
    assert [e["where"] for e in fast.errors] == [f"{path}: line 5"] and fast.errors == slow.errors
    assert fast_rollups == slow_rollups


def test_a_forgotten_persons_events_are_skipped_as_record_by_record(repeats: bool, tmp_path: Path) -> None:
    rows = varied(repeats)
    forgotten = rows[10]["user"].lower()
    (slow, slow_rollups), (fast, fast_rollups) = both(tmp_path, write(tmp_path / "spend.jsonl", rows), forget=forgotten)
    assert counts(fast) == counts(slow) and fast.forgotten == slow.forgotten > 0
    assert fast_rollups == slow_rollups and forgotten not in {key[1] for key in fast_rollups}


def test_a_small_file_is_read_record_by_record(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path / "spend.jsonl", varied())
    assert litellm_columnar.MIN_BYTES > path.stat().st_size
    assert not any(isinstance(item, EventSums) for item in FEEDS["litellm"].parse(path))


@pytest.mark.parametrize("with_repeats", [True, False], ids=["repeats", "distinct"])
def test_both_databases_store_what_the_columnar_pass_read(with_repeats: bool, engine: Engine, tmp_path: Path) -> None:
    before = write(tmp_path / "before.jsonl", varied()[:20])
    path = write(tmp_path / "spend.jsonl", varied(with_repeats))
    (slow, slow_rollups), _ = both(tmp_path, path, before)
    with columnar(True):
        ingest_file(engine, before)
        fast = ingest_file(engine, path)
    assert counts(fast) == counts(slow) and rollups(engine) == slow_rollups


@pytest.mark.parametrize("tail", [
    ", }", ', "x": -inf}', ', "x": nan}', ', "x": [1, ]}', ', "x": ' + "1" * 4400 + "}",  # JSON DuckDB takes...
    ', "x": NaN}', ', "x": -Infinity}',  # ...and JSON both take
], ids=["trailing-comma", "inf", "nan", "trailing-comma-in-list", "long-int", "NaN", "Infinity"])
def test_a_line_duckdb_would_take_is_rejected_as_the_parser_rejects_it(tail: str, tmp_path: Path) -> None:
    rows = varied(repeats=False)
    path = write(tmp_path / "spend.jsonl", rows, bad={7: json.dumps(rows[7])[:-1] + tail})
    (slow, slow_rollups), (fast, fast_rollups) = both(tmp_path, path)
    assert fast.errors == slow.errors and counts(fast) == counts(slow)
    assert fast_rollups == slow_rollups


def test_duckdb_keys_each_rollup_as_the_record_path_does(engine: Engine, tmp_path: Path) -> None:
    """The record key made in DuckDB's SQL is storage.rollups.key_of's: else a later record-by-record ingest of the
    same person, day and model would start a second row instead of adding to this one."""
    with columnar(True):
        ingest_file(engine, write(tmp_path / "spend.jsonl", varied(repeats=False)))
    usage = table(Usage)
    with engine.connect() as conn:
        stored = [dict(row) for row in conn.execute(select(usage).where(usage.c.source == "litellm")).mappings()]
    assert len(stored) > 5 and {row["work_ref"] for row in stored} > {""}
    assert [row["record_key"] for row in stored] == [rollup_key(row) for row in stored]
