"""The JSON size limit (issue 14): a single JSON value (a line, or a whole document) over MAX_JSON_BYTES is refused
with the file and line named, without ever being held in memory whole; the file's other lines still land."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.ingest import limits
from bot.ingest.files import ingest_file
from tests.conftest import FIXTURES

LIMIT = 16 * 1024
ROWS: list[dict[str, Any]] = json.loads((FIXTURES / "litellm_spend_logs.json").read_text())["data"][:4]


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_JSON_BYTES", LIMIT)


def padded(row: dict[str, Any], size: int) -> str:
    """The row as one JSON line of exactly `size` bytes (newline excluded), the padding in an unknown field."""
    bare = json.dumps({**row, "x_padding": ""})
    return json.dumps({**row, "x_padding": "x" * (size - len(bare))})


def test_the_default_limit_is_64_mb() -> None:
    assert limits.DEFAULT_MAX_JSON_BYTES == 64 * 1024 * 1024


def test_a_json_line_over_the_limit_is_rejected_by_line_and_the_others_land(engine: Engine, tmp_path: Path) -> None:
    lines = [json.dumps(ROWS[0]), padded(ROWS[1], LIMIT + 1), padded(ROWS[2], LIMIT), json.dumps(ROWS[3])]
    path = tmp_path / "spend.jsonl"
    path.write_text("\n".join(lines) + "\n")
    report = ingest_file(engine, path)
    assert (report.source, report.records, report.stored, report.rejected) == ("litellm", 4, 3, 1)
    (error,) = report.errors
    assert error["where"] == f"{path}: line 2"
    assert f"over the {LIMIT:,}-byte limit" in error["reason"]


def test_a_huge_first_line_is_refused_without_reading_it_whole(engine: Engine, tmp_path: Path) -> None:
    size = 400 * LIMIT  # 6.5 MB on one line; the limit is 16 KB
    path = tmp_path / "page-on-one-line.json"
    path.write_text(padded(ROWS[0], size) + "\n" + json.dumps(ROWS[1]) + "\n")
    tracemalloc.start()
    try:
        report = ingest_file(engine, path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.errors[0]["where"] == f"{path}: line 1" and report.stored == 1, report.errors
    assert peak < size / 8, f"peak {peak:,} bytes while refusing a {size:,}-byte line"


@pytest.mark.parametrize("fixture", ["claude_code_analytics.json", "jira_search.json", "copilot_billing_seats.json"])
def test_a_whole_json_document_over_the_limit_makes_the_file_unusable_with_a_clear_error(
    fixture: str, engine: Engine, tmp_path: Path
) -> None:
    document = json.loads((FIXTURES / fixture).read_text())
    path = tmp_path / fixture
    path.write_text(json.dumps(document, indent=2) + " " * LIMIT)
    report = ingest_file(engine, path)
    assert report.unusable and report.stored == 0
    (error,) = report.errors
    assert error["where"] == str(path)
    assert f"line 1: a JSON document of {path.stat().st_size:,} bytes is over the {LIMIT:,}-byte limit" in \
        error["reason"]


def test_jsonl_feeds_other_than_litellm_reject_an_over_long_line_too(engine: Engine, tmp_path: Path) -> None:
    source = FIXTURES / "copilot_user_metrics.ndjson"
    lines = source.read_text().splitlines()
    record = json.loads(lines[1])
    lines[1] = json.dumps({**record, "x_padding": "x" * LIMIT})
    path = tmp_path / "copilot.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = ingest_file(engine, path)
    assert [e["where"] for e in report.errors] == [f"{path}: line 2"]
    assert report.records == len(lines) and report.rejected == 1
