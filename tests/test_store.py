"""The one store ingest uses, on SQLite and PostgreSQL: one dedup rule, every item counted once."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import BaseFeed, IdentityLink, IdentityRef, Record, Rejection, Row, UsageRow
from bot.ingest.once import Item, Once, natural_key, once
from bot.ingest.store import Tally, store_records
from storage import make_engine, upgrade
from storage.dialect import insert
from storage.engine import session_scope
from storage.models import Usage
from storage.models import table as table_of
from storage.writes import upsert

ANA = IdentityRef.of("email", "ana@acme.test")
DAY = date(2026, 11, 17)
NOON = datetime(2026, 11, 17, 12, tzinfo=UTC)


def usage(key: str, tokens: int = 1, observed_at: datetime | None = None) -> UsageRow:
    return UsageRow(source="test", record_key=key, identity=ANA, day=DAY, provider="anthropic", tool="t",
                    model="m", input_tokens=tokens, observed_at=observed_at)


def records(*rows: UsageRow) -> list[Item]:
    return [Record(f"line {n}", (row,)) for n, row in enumerate(rows, start=1)]


def store(engine: Engine, items: Iterable[Item], unique_keys: bool = False) -> Tally:
    with session_scope(engine) as session:
        return store_records(session, items, unique_keys=unique_keys)


def stored_tokens(engine: Engine) -> dict[str, int]:
    table = table_of(Usage)
    with engine.connect() as conn:
        return {key: tokens for key, tokens in conn.execute(select(table.c.record_key, table.c.input_tokens))}


def _usage(rows: Iterable[Row]) -> list[UsageRow]:
    return [row for row in rows if isinstance(row, UsageRow)]


def counts(tally: Tally) -> tuple[int, int, int, int, int]:
    return tally.records, tally.stored, tally.duplicates, tally.skipped, tally.rejected


def test_a_key_repeated_in_one_ingest_keeps_the_first_and_counts_the_repeat_skipped(engine: Engine) -> None:
    tally = store(engine, records(usage("a", 1), usage("b", 2), usage("a", 3)))
    assert counts(tally) == (3, 2, 0, 1, 0)
    assert stored_tokens(engine) == {"a": 1, "b": 2}


def test_a_later_ingest_restates_the_figures_and_the_same_figures_are_duplicates(engine: Engine) -> None:
    store(engine, records(usage("a", 1), usage("b", 2)))
    assert counts(store(engine, records(usage("a", 5), usage("b", 2)))) == (2, 1, 1, 0, 0)
    assert stored_tokens(engine) == {"a": 5, "b": 2}


def test_a_format_with_unique_keys_rejects_the_repeat_naming_the_first(engine: Engine) -> None:
    tally = store(engine, records(usage("a", 1), usage("b", 2), usage("a", 3)), unique_keys=True)
    assert counts(tally) == (3, 2, 0, 0, 1)
    assert tally.rejections == [Rejection("line 3", "the same line (a) appears twice in this file: it repeats line 1")]
    assert stored_tokens(engine) == {"a": 1, "b": 2}


def test_a_key_twice_in_one_record_is_written_once() -> None:
    [item] = once([Record("data[0]", (usage("a", 1), usage("a", 2)))])
    assert isinstance(item, Record) and item.rows == (usage("a", 1),)
    [rejected] = once([Record("data[0]", (usage("a", 1), usage("a", 2)))], unique_keys=True)
    assert isinstance(rejected, Rejection)


def test_the_newest_cumulative_reading_wins_and_the_others_are_skipped(engine: Engine) -> None:
    older, newer = usage("s", 10, NOON), usage("s", 25, NOON + timedelta(hours=1))
    assert counts(store(engine, records(newer, older))) == (2, 1, 0, 1, 0)
    assert stored_tokens(engine) == {"s": 25}
    assert counts(store(engine, records(older))) == (1, 0, 1, 0, 0)  # the database keeps the newer too
    assert stored_tokens(engine) == {"s": 25}


@settings(max_examples=30, deadline=None)
@given(st.permutations(range(6)))
def test_cumulative_readings_in_any_order_leave_the_newest(order: list[int]) -> None:
    readings = [usage("s", 100 + n, NOON + timedelta(minutes=n)) for n in order]
    kept = [row for item in once(records(*readings)) if isinstance(item, Record) for row in item.rows]
    assert kept == [usage("s", 105, NOON + timedelta(minutes=5))]


def test_links_are_learned_once_even_from_a_reading_that_loses() -> None:
    link = IdentityLink("test", ANA, IdentityRef.of("otel", "u1"))
    older = Record("line 1", (link, usage("s", 1, NOON)))
    newer = Record("line 2", (link, usage("s", 2, NOON + timedelta(hours=1))))
    items = list(once([older, newer]))
    assert [(i.location, i.rows) for i in items if isinstance(i, Record)] == [
        ("line 1", (link,)), ("line 2", (usage("s", 2, NOON + timedelta(hours=1)),))]


KEYS = st.sampled_from("abcdefgh")
ITEMS = st.lists(st.one_of(
    st.builds(lambda k, t: Record("r", (usage(k, t),)), KEYS, st.integers(0, 3)),
    st.just(Rejection("r", "bad")),
    st.just(Record("r", ())),
), max_size=40)


@settings(max_examples=60, deadline=None)
@given(ITEMS, st.integers(1, 5), st.integers(1, 6), st.booleans())
def test_no_batch_holds_a_key_twice_and_each_item_read_comes_out_once(
    items: list[Item], batch: int, remember: int, unique_keys: bool
) -> None:
    out: list[Item] = []
    for read, admitted in Once(unique_keys, remember=remember, batch=batch).batches(items):
        keys = [natural_key(row) for item in admitted if isinstance(item, Record) for row in _usage(item.rows)]
        assert len(keys) == len(set(keys)) and read <= batch
        out += admitted
    assert len(out) == len(items)
    if remember >= len(items):  # nothing forgotten: each key written once in the whole ingest
        written = [row.record_key for item in out if isinstance(item, Record) for row in _usage(item.rows)]
        assert len(written) == len(set(written))


@settings(max_examples=15, deadline=None)
@given(st.lists(ITEMS, min_size=1, max_size=3))
def test_every_item_read_is_counted_once_whatever_was_stored_before(ingests: list[list[Item]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        upgrade(engine)
        expected: dict[str, int] = {}
        for items in ingests:
            tally = store(engine, items)
            assert tally.records == len(items) == tally.stored + tally.duplicates + tally.skipped + tally.rejected
            firsts: dict[str, int] = {}
            for item in items:
                for row in _usage(item.rows) if isinstance(item, Record) else []:
                    firsts.setdefault(row.record_key, row.input_tokens)
            expected |= firsts  # first within an ingest, the later ingest across them
        assert stored_tokens(engine) == expected
        engine.dispose()


def test_upsert_refuses_a_key_twice_in_one_batch(sqlite_engine: Engine) -> None:
    row = {"source": "test", "record_key": "a", "identity_id": 1, "day": DAY, "provider": "p", "tool": "t",
           "model": "m"}
    with pytest.raises(ValueError, match="a key repeats in one batch"), session_scope(sqlite_engine) as session:
        upsert(session, Usage, ("source", "record_key"), [row, {**row, "model": "n"}])


def test_the_insert_helper_speaks_the_databases_dialect(engine: Engine) -> None:
    table = table_of(Usage)
    expected = postgresql.Insert if engine.dialect.name == "postgresql" else sqlite.Insert
    assert isinstance(insert(engine, table), expected)
    with session_scope(engine) as session:
        assert isinstance(insert(session, table), expected)


def test_every_feed_has_every_member_of_the_protocol() -> None:
    for feed in FEEDS.values():
        assert isinstance(feed, BaseFeed)
        assert isinstance(feed.priority, int) and isinstance(feed.unique_keys, bool)
    unique = {name for name, feed in FEEDS.items() if feed.unique_keys}
    assert unique == {"anthropic_cost", "anthropic_usage", "openai_costs", "openai_usage", "usage_csv"}
