"""Cursor usage-event pages read column-wise: the same keys, rollups, tallies and rejections as record by record."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from bot.core.privacy import identity_digest
from bot.errors import FeedError
from bot.ingest import limits
from bot.ingest.feeds import FEEDS, cursor_events_columnar
from bot.ingest.feeds.base import EventSums, Record, UsageEvent
from bot.ingest.files import FileReport, ingest_file
from storage.models import Erasure, table
from storage.rollups import event_key
from tests.test_rollups import _database, rollups

pytest.importorskip("duckdb")

START = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000)
MODELS = ["claude-4.6-opus-high-thinking", "gpt-5", "o3", "composer-1", "anthropic/claude-haiku-4-5-20251001",
          "GPT-5-Codex", "zoë-model", ""]
EMAILS = ["Person{}@Acme.test", "person{}@acme.test", "zoë{}@acme.test", " person{}@acme.test\t"]
CENTS = [0, 1, 51.72588, -0.0, 1e-7, 0.1 + 0.2, 12.0, 2.5e15, 5e-324, 123456789.123456789]


@contextmanager
def columnar(on: bool) -> Iterator[None]:
    saved = cursor_events_columnar.MIN_BYTES
    cursor_events_columnar.MIN_BYTES = 0 if on else 2**62
    try:
        yield
    finally:
        cursor_events_columnar.MIN_BYTES = saved


def generated(count: int, seed: int = 7, people: int = 12) -> list[dict[str, Any]]:
    """Events that take every branch the parser takes: no token usage, null and missing optional fields, numbers as
    integers and floats, emails in two spellings, names beyond ASCII, unknown fields, a timestamp sent as a number."""
    rnd = random.Random(seed)
    events = []
    for index in range(count):
        event: dict[str, Any] = {
            "timestamp": str(START + rnd.randrange(28 * 86_400_000)),
            "userEmail": rnd.choice(EMAILS).format(rnd.randrange(people)),
            "model": rnd.choice(MODELS), "kind": rnd.choice(["Usage-based", "Included in Business", None, "ünï 😀"]),
            "maxMode": rnd.random() < 0.3, "requestsCosts": rnd.choice([1, 0.5, -2.25, None, 12.9]),
            "isTokenBasedCall": True, "x_unknown": rnd.choice([None, {"nested": [1, {"a": "]"}]}, "{[", 1e300]),
        }
        if index % 13 == 3:
            event["timestamp"] = int(event["timestamp"])
        if index % 11 == 5:
            del event["kind"], event["requestsCosts"]
        if index % 7 != 2:
            event["tokenUsage"] = {"inputTokens": rnd.randrange(30_000), "outputTokens": rnd.randrange(9_000),
                                   "cacheWriteTokens": rnd.randrange(70_000), "cacheReadTokens": rnd.randrange(400_000),
                                   "totalCents": rnd.choice([*CENTS, round(rnd.random() * 90, 5), rnd.random()])}
        elif index % 2:
            event["tokenUsage"] = None
        events.append(event)
    return [*events, events[4], events[9]]  # two events sent twice


def write(path: Path, events: list[Any], indent: int | None = None, text: str | None = None) -> Path:
    """A filtered-usage-events response; `text` replaces the list as written (a page json.dumps would not write)."""
    document = {"totalUsageEventsCount": len(events), "pagination": {"numPages": 1, "hasNextPage": False},
                "usageEvents": events, "period": {"startDate": START, "endDate": START + 1}}
    written = json.dumps(document, indent=indent, ensure_ascii=indent is None)
    path.write_text(written if text is None else written.replace('"usageEvents": []', f'"usageEvents": {text}'),
                    encoding="utf-8")
    return path


def counts(report: FileReport) -> tuple[int, ...]:
    return report.records, report.stored, report.duplicates, report.skipped, report.rejected


def record_by_record(tmp_path: Path, *paths: Path, forget: str | None = None) -> tuple[FileReport, Any]:
    """The last file's report and the rollups of ingesting the files record by record, in a database of their own."""
    engine = _database(tmp_path / f"records-{len(list(tmp_path.iterdir()))}.db")
    if forget is not None:
        erase(engine, forget)
    with columnar(False):
        reports = [ingest_file(engine, path) for path in paths]
    found = rollups(engine)
    engine.dispose()
    return reports[-1], found


def erase(engine: Engine, email: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(table(Erasure)).values(
            at=datetime.now(UTC), subject="x", removed="{}", identities=json.dumps([identity_digest("cursor", email)])))


def read_at_once(path: Path) -> bool:
    with columnar(True):
        try:
            items = list(FEEDS["cursor_events"].parse(path))
        except (FeedError, RecursionError):
            return False
    for item in items:
        if isinstance(item, EventSums):
            item.close()
    return len(items) == 1 and isinstance(items[0], EventSums)


def pairs(chunk: Any) -> list[tuple[date, bytes]]:
    """A chunk of EventSums.keys as (day, key) pairs, whether it came as pairs or as arrays."""
    if isinstance(chunk, list):
        return chunk
    days, keys = chunk
    raw = keys.astype("<u8").tobytes()
    return [(date.fromordinal(int(day)), raw[16 * i : 16 * i + 16]) for i, day in enumerate(days)]


def test_a_page_read_column_wise_gives_the_keys_of_the_record_path(tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", generated(300))
    with columnar(True):
        [sums] = FEEDS["cursor_events"].parse(path)
    assert isinstance(sums, EventSums) and (sums.events, sums.repeats) == (302, 2)
    rows = [row for item in sums.records() if isinstance(item, Record) for row in item.rows]
    expected = [(row.day, event_key(row.source, row.record_key)) for row in rows if isinstance(row, UsageEvent)]
    assert [pair for chunk in sums.keys() for pair in pairs(chunk)] == list(dict.fromkeys(expected))
    assert len(set(expected)) == 300
    sums.close()


def test_a_page_read_column_wise_gives_the_rollups_and_tally_of_the_record_path(
    engine: Engine, tmp_path: Path,
) -> None:
    usage = {"inputTokens": 3, "outputTokens": 4, "cacheWriteTokens": 0, "cacheReadTokens": 1, "totalCents": 0.5}
    same = {"timestamp": str(START + 5), "maxMode": False, "tokenUsage": usage}
    spellings = [{**same, "userEmail": "Twice@Acme.test", "model": "GPT-5"},  # one rollup, written two ways
                 {**same, "userEmail": "twice@acme.test", "model": "openai/gpt-5"}]
    path = write(tmp_path / "events.json", [*generated(300), *spellings], indent=2)
    slow, slow_rollups = record_by_record(tmp_path, path)
    assert read_at_once(path)
    with columnar(True):
        fast = ingest_file(engine, path)
    assert counts(fast) == counts(slow) == (304, 302, 0, 2, 0)
    assert [figures[5] for key, figures in slow_rollups.items() if key[1] == "twice@acme.test"] == [2]
    assert rollups(engine) == slow_rollups
    assert {key[6] for key in slow_rollups} >= {"unknown", "claude-haiku-4-5", "gpt-5-codex", "zoë-model"}
    assert any(key[-1] for key in slow_rollups) and not all(key[-1] for key in slow_rollups)  # priced when read too


def test_a_bad_event_falls_back_with_the_parsers_rejection_and_keeps_the_rest(engine: Engine, tmp_path: Path) -> None:
    events = generated(120)
    events[37] = {**events[37], "timestamp": "yesterday"}
    path = write(tmp_path / "events.json", events)
    slow, slow_rollups = record_by_record(tmp_path, path)
    assert not read_at_once(path)
    with columnar(True):
        fast = ingest_file(engine, path)
    assert [error["where"] for error in fast.errors] == [f"{path}: usageEvents[37]"]
    assert fast.errors == slow.errors and "timestamp" in fast.errors[0]["reason"]
    assert counts(fast) == counts(slow) == (122, 119, 0, 2, 1)
    assert rollups(engine) == slow_rollups


def test_overlapping_pages_read_each_way_count_each_event_once(engine: Engine, tmp_path: Path) -> None:
    events = generated(200)[:200]
    first = write(tmp_path / "first.json", events[:140])
    second = write(tmp_path / "second.json", events[60:])
    whole = write(tmp_path / "whole.json", events)
    _, expected = record_by_record(tmp_path, whole)
    assert read_at_once(first)
    with columnar(True):
        ingest_file(engine, first)
    with columnar(False):
        report = ingest_file(engine, second)
    assert counts(report) == (140, 60, 80, 0, 0)
    assert rollups(engine) == expected


def test_reingesting_a_page_is_a_no_op(engine: Engine, tmp_path: Path) -> None:
    events = generated(150)
    path = write(tmp_path / "events.json", events)
    reformatted = write(tmp_path / "again.json", events, indent=1)  # other bytes: read again, every event known
    with columnar(True):
        ingest_file(engine, path)
        stored = rollups(engine)
        same = ingest_file(engine, path)
        again = ingest_file(engine, reformatted)
    assert (same.stored, same.duplicates, same.rejected) == (0, 150, 0)
    assert read_at_once(reformatted) and counts(again) == (152, 0, 150, 2, 0)
    assert rollups(engine) == stored


def test_events_stored_record_by_record_before_are_duplicates_when_read_column_wise(tmp_path: Path) -> None:
    events = generated(150)
    before = write(tmp_path / "before.json", events[:90])
    path = write(tmp_path / "events.json", events[30:])
    slow, expected = record_by_record(tmp_path, before, path)
    engine = _database(tmp_path / "fast.db")
    with columnar(False):
        ingest_file(engine, before)
    with columnar(True):
        report = ingest_file(engine, path)
    assert counts(report) == counts(slow) == (122, 60, 62, 0, 0)  # the two events sent twice are both in `before`
    assert rollups(engine) == expected
    engine.dispose()


@pytest.mark.parametrize("change", [
    {"timestamp": "0"}, {"timestamp": "1"}, {"timestamp": "01794959999999"}, {"timestamp": 1794959999999.0},
    {"timestamp": " 1794959999999"}, {"timestamp": None}, {"userEmail": ""}, {"userEmail": None},
    {"userEmail": "nul\u0000@acme.test"}, {"model": None}, {"model": 5},
    {"maxMode": "yes"}, {"maxMode": None}, {"maxMode": 1}, {"requestsCosts": "1.5"}, {"requestsCosts": 2**60},
    {"kind": 3}, {"tokenUsage": 5}, {"tokenUsage": {}}, {"tokenUsage": {"inputTokens": 1}},
    {"tokenUsage": {"inputTokens": -1, "totalCents": 1}}, {"tokenUsage": {"inputTokens": 2**63, "totalCents": 1}},
    {"tokenUsage": {"inputTokens": None, "totalCents": 1}}, {"tokenUsage": {"inputTokens": 2.0, "totalCents": 1}},
    {"tokenUsage": {"totalCents": -1}}, {"tokenUsage": {"totalCents": "1"}}, {"tokenUsage": {"totalCents": True}},
    {"tokenUsage": {"totalCents": 1e16}},
])
def test_an_event_the_pass_cannot_vouch_for_is_read_as_the_parser_reads_it(
    change: dict[str, Any], tmp_path: Path,
) -> None:
    events = generated(40)
    events[17] = {**events[17], **change}
    path = write(tmp_path / "events.json", events)
    slow, slow_rollups = record_by_record(tmp_path, path)
    assert not read_at_once(path)
    engine = _database(tmp_path / "fast.db")
    with columnar(True):
        fast = ingest_file(engine, path)
    assert fast.errors == slow.errors and counts(fast) == counts(slow) and rollups(engine) == slow_rollups
    engine.dispose()


@pytest.mark.parametrize("missing", ["model", "maxMode", "kind", "requestsCosts", "tokenUsage"])
def test_a_field_left_out_is_read_as_the_parser_reads_it(missing: str, tmp_path: Path) -> None:
    events = generated(40)
    events[5] = {name: value for name, value in events[5].items() if name != missing}
    path = write(tmp_path / "events.json", events)
    slow, slow_rollups = record_by_record(tmp_path, path)
    assert read_at_once(path) == (missing in ("kind", "requestsCosts", "tokenUsage"))  # null and missing: one to DuckDB
    engine = _database(tmp_path / "fast.db")
    with columnar(True):
        fast = ingest_file(engine, path)
    assert not fast.errors and counts(fast) == counts(slow) and rollups(engine) == slow_rollups
    engine.dispose()


@pytest.mark.parametrize("text", [
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false},]',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false, "x": NaN}]',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false, "x": -inf}]',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false, "x": '
    + "1" * 4301 + "}]",
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false, "x": '
    + "[" * 2000 + "]" * 2000 + "}]",
    '[{"timestamp": "1794959999999", "timestamp": "1794950000000", "userEmail": "a@acme.test", "model": "o3", '
    '"maxMode": false}]',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false}], "usageEvents": 5',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false}], '
    '"usage\\u0045vents": []',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o\\"3", "maxMode": false}]',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false}]}{"a": 1',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false}, null, 5]',
    '[{"timestamp": "1794959999999", "userEmail": "a@acme.test", "model": "o3", "maxMode": false}], "junk": ['
    + ", ".join(['{"usageEvents": []}'] * 20) + "]",
])
def test_a_page_json_load_reads_otherwise_is_left_to_it(text: str, tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", [], text=text)
    assert not read_at_once(path)
    with columnar(False):
        try:
            expected: Any = [(type(i).__name__, i.location, getattr(i, "reason", "")) for i in
                             FEEDS["cursor_events"].parse(path)]
        except (FeedError, RecursionError) as exc:
            expected = type(exc)
    with columnar(True):
        try:
            found: Any = [(type(i).__name__, i.location, getattr(i, "reason", "")) for i in
                          FEEDS["cursor_events"].parse(path)]
        except (FeedError, RecursionError) as exc:
            found = type(exc)
    assert found == expected


def test_a_forgotten_persons_events_are_skipped_as_record_by_record(tmp_path: Path) -> None:
    path = write(tmp_path / "events.json", generated(80))
    slow, slow_rollups = record_by_record(tmp_path, path, forget="person3@acme.test")
    engine = _database(tmp_path / "fast.db")
    erase(engine, "person3@acme.test")
    with columnar(True):
        fast = ingest_file(engine, path)
    assert counts(fast) == counts(slow) and fast.forgotten == slow.forgotten > 0
    assert rollups(engine) == slow_rollups and "person3@acme.test" not in {key[1] for key in slow_rollups}
    engine.dispose()


def test_a_small_page_and_one_over_the_json_limit_are_read_record_by_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write(tmp_path / "events.json", generated(30))
    assert cursor_events_columnar.MIN_BYTES > path.stat().st_size
    assert not any(isinstance(item, EventSums) for item in FEEDS["cursor_events"].parse(path))
    monkeypatch.setattr(limits, "MAX_JSON_BYTES", path.stat().st_size - 1)
    with columnar(True), pytest.raises(FeedError, match="over the"):
        list(FEEDS["cursor_events"].parse(path))


_ANY = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**64 + 3), st.floats(allow_nan=False, width=64),
                 st.text(max_size=4), st.sampled_from(["1794959999999", "01794959999999", "0", "1794959999999 "]),
                 st.just({"nested": ["]", "[", ",}"]}))
_FIELDS = ["timestamp", "userEmail", "model", "kind", "maxMode", "requestsCosts", "tokenUsage"]
_USAGE = ["inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens", "totalCents"]


@st.composite
def _event(draw: st.DrawFn) -> dict[str, Any]:
    usage: dict[str, Any] = {name: draw(st.integers(0, 10**6)) for name in _USAGE[:-1]}
    usage["totalCents"] = draw(st.floats(0, 10**6))
    event: dict[str, Any] = {"timestamp": str(START + draw(st.integers(0, 10**9))), "userEmail": "p@acme.test",
                             "model": draw(st.sampled_from(MODELS)), "kind": None, "maxMode": True,
                             "requestsCosts": draw(st.floats(-1e6, 1e6)), "tokenUsage": usage}
    for name in draw(st.lists(st.sampled_from(_FIELDS + _USAGE), max_size=2)):
        place = usage if name in _USAGE else event
        if draw(st.booleans()):
            place.pop(name, None)
        else:
            place[name] = draw(_ANY)
    return event


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_event(), min_size=1, max_size=6))
def test_any_page_is_stored_as_the_record_path_stores_it(events: list[dict[str, Any]], tmp_path: Path) -> None:
    path = write(tmp_path / f"events-{len(list(tmp_path.iterdir()))}.json", events + events[:1])
    slow, slow_rollups = record_by_record(tmp_path, path)
    engine = _database(tmp_path / f"fast-{len(list(tmp_path.iterdir()))}.db")
    with columnar(True):
        fast = ingest_file(engine, path)
    assert fast.errors == slow.errors and counts(fast) == counts(slow) and rollups(engine) == slow_rollups
    engine.dispose()
