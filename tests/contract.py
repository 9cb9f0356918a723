"""The contract every feed adapter passes (see test_feed_contract.py and each feed's own tests).

A case names a fixture file and how to break one record of it; the contract checks detection
from content, a clean first ingest, a no-op re-ingest, unknown fields ignored, the bad record
rejected with its location while the rest lands, and an empty page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bot.ingest.feeds import FEEDS, detect
from bot.ingest.feeds.base import Record, Rejection
from bot.ingest.files import ingest_file
from bot.ingest.once import once


@dataclass(frozen=True)
class FeedCase:
    source: str
    fixture: Path
    corrupt: Callable[[str], str]  # fixture text -> the same text with exactly one bad record
    bad_location: str  # the location the rejection must name, e.g. "data[0].results[2]"
    add_unknown_field: Callable[[str], str]  # fixture text -> the same with an extra field in each record
    empty: str | None  # the text of an empty page, or None when the format has no such thing


def check_contract(case: FeedCase, engine: Engine, tmp_path: Path) -> None:
    text = case.fixture.read_text(encoding="utf-8")
    assert detect(text[:65536]).name == case.source
    assert case.source in FEEDS

    first = ingest_file(engine, case.fixture)
    assert (first.rejected, first.unusable) == (0, False), first.errors[:3]
    assert first.records > 0 and first.stored > 0
    again = ingest_file(engine, case.fixture)
    assert again.stored == 0 and again.duplicates == first.stored, "re-ingest must change nothing"

    extra = tmp_path / f"extra-{case.fixture.name}"
    extra.write_text(case.add_unknown_field(text), encoding="utf-8")
    assert _rows(case, extra) == _rows(case, case.fixture), "unknown fields must be ignored"

    bad = tmp_path / f"bad-{case.fixture.name}"
    bad.write_text(case.corrupt(text), encoding="utf-8")
    items = list(FEEDS[case.source].parse(bad))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == [case.bad_location]
    assert rejected[0].reason
    good = [i for i in items if isinstance(i, Record)]
    assert len(good) == len(list(FEEDS[case.source].parse(case.fixture))) - 1

    if case.empty is not None:
        empty = tmp_path / f"empty-{case.fixture.name}"
        empty.write_text(case.empty, encoding="utf-8")
        report = ingest_file(engine, empty, source=case.source)
        assert (report.records, report.rejected, report.unusable) == (0, 0, False)


def as_stored(source: str, path: Path) -> list[Record | Rejection]:
    """A file's items exactly as ingest stores them: the feed's records under the store's one dedup rule."""
    feed = FEEDS[source]
    return list(once(feed.parse(path), feed.unique_keys))


def _rows(case: FeedCase, path: Path) -> list[object]:
    return [row for item in FEEDS[case.source].parse(path) if isinstance(item, Record) for row in item.rows]
