"""The store's fast paths give what the record-by-record rule gives, on SQLite's driver and PostgreSQL alike."""

from __future__ import annotations

import gc
import math
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from bot.errors import FeedError
from bot.ingest import once as once_module
from bot.ingest import store as store_module
from bot.ingest.bounds import all_fine, ordinals, problem
from bot.ingest.feeds.base import ActivityRow, IdentityLink, IdentityRef, Record, Rejection, UsageRow
from bot.ingest.once import Item, once
from bot.ingest.store import Tally, store_records
from storage.engine import session_scope
from storage.models import Activity, Identity, Usage
from storage.models import table as table_of
from storage.writes import identity_ids, upsert_columns

DAY = date(2026, 11, 17)
WINDOW = (date(2026, 1, 1), date(2026, 12, 31))
NOON = datetime(2026, 11, 17, 12, 30, tzinfo=UTC)


def person(n: int) -> IdentityRef:
    return IdentityRef.of("email", f"p{n}@acme.test")


def usage(key: str, who: int = 0, tokens: int = 1, **extra: object) -> UsageRow:
    return UsageRow(source="test", record_key=key, identity=person(who), day=DAY, provider="anthropic", tool="t",
                    model="m", input_tokens=tokens, **extra)  # type: ignore[arg-type]


def activity(key: str, metric: str, value: float, who: int = 0) -> ActivityRow:
    return ActivityRow("test", key, person(who), DAY, metric, value)


def day_record(n: int, who: int | None = None, tokens: int = 1) -> Record:
    """A record shaped like a Claude Code Analytics day: a usage row and activity rows under one key."""
    key = f"k{n}"
    owner = n if who is None else who
    return Record(f"data[{n}]", (usage(key, owner, tokens), activity(key, "sessions", n, owner),
                                 activity(key, "commits", 1, owner)))


def store(engine: Engine, items: list[Item], unique_keys: bool = False) -> Tally:
    with session_scope(engine) as session:
        return store_records(session, items, unique_keys=unique_keys)


def counts(tally: Tally) -> tuple[int, int, int, int, int]:
    return tally.records, tally.stored, tally.duplicates, tally.skipped, tally.rejected


def test_a_restated_record_among_unchanged_ones_is_the_only_one_stored(engine: Engine) -> None:
    first = [day_record(n) for n in range(300)]  # 900 rows: pages of 256, 32, 8 and 4 on SQLite
    assert counts(store(engine, list(first))) == (300, 300, 0, 0, 0)
    again = [day_record(n, tokens=7 if n == 123 else 1) for n in range(300)]
    assert counts(store(engine, list(again))) == (300, 1, 299, 0, 0)
    usage_table = table_of(Usage)
    with engine.connect() as conn:
        tokens = dict(conn.execute(select(usage_table.c.record_key, usage_table.c.input_tokens)).all())
        people = conn.execute(select(text("count(*)")).select_from(table_of(Identity))).scalar_one()
    assert tokens["k123"] == 7 and sum(tokens.values()) == 306
    assert people == 300


def test_columns_go_in_as_sqlalchemy_writes_them_and_read_back_the_same(engine: Engine) -> None:
    with session_scope(engine) as session:
        [ana] = identity_ids(session, [("email", "ana@acme.test")]).values()
        columns: dict[str, list[Any]] = {
            "source": ["s", "s"], "record_key": ["a", "b"], "identity_id": [ana, ana], "day": [DAY, DAY],
            "metric": ["m", "m"], "value": [1, 2.5], "observed_at": [NOON, None]}
        assert upsert_columns(session, Activity, ("source", "record_key", "metric"), columns).stored == {
            ("s", "a", "m"), ("s", "b", "m")}
        again = upsert_columns(session, Activity, ("source", "record_key", "metric"), columns)
        assert (again.stored, again.duplicates) == (set(), 2)
    table = table_of(Activity)
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.record_key, table.c.day, table.c.value, table.c.observed_at)
                            .order_by(table.c.record_key)).all()
    assert [tuple(row) for row in rows] == [("a", DAY, 1.0, NOON), ("b", DAY, 2.5, None)]


def test_columns_left_out_take_their_defaults(engine: Engine) -> None:
    with session_scope(engine) as session:
        [ana] = identity_ids(session, [("email", "ana@acme.test")]).values()
        columns: dict[str, list[Any]] = {"source": ["s"], "record_key": ["a"], "identity_id": [ana], "day": [DAY],
                                         "provider": ["p"], "tool": ["t"], "model": ["m"]}
        assert upsert_columns(session, Usage, ("source", "record_key"), columns).stored == {("s", "a")}
    table = table_of(Usage)
    with engine.connect() as conn:
        row = conn.execute(select(table.c.input_tokens, table.c.requests, table.c.work_ref)).one()
    assert tuple(row) == (0, 0, "")


def test_a_key_twice_in_one_column_batch_is_refused(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(ValueError, match="a key repeats"):
        upsert_columns(session, Usage, ("source", "record_key"), {"source": ["s", "s"], "record_key": ["a", "a"]})


def test_a_repeat_batches_later_is_rejected_naming_where_it_first_came(engine: Engine) -> None:
    items: list[Item] = [day_record(n) for n in range(12)]
    items.append(Record("data[12]", (usage("k3", 3, tokens=9),)))
    admitted = list(once_module.Once(unique_keys=True, batch=5).batches(items))
    rejections = [item for _, batch in admitted for item in batch if isinstance(item, Rejection)]
    assert rejections == [Rejection("data[12]", "the same line (k3) appears twice in this file: it repeats data[3]")]


def test_a_batch_with_a_link_a_reading_or_a_repeat_is_admitted_record_by_record() -> None:
    link = IdentityLink("test", person(1), IdentityRef.of("key", "k-1"))
    items: list[Item] = [day_record(1), Record("with link", (link, usage("x", 1))), day_record(2),
                         Record("reading", (usage("r", 1, observed_at=NOON),)), day_record(1)]
    kept = list(once(items))
    assert [item.location for item in kept] == ["data[1]", "with link", "data[2]", "data[1]", "reading"]
    repeat = kept[3]
    assert isinstance(repeat, Record) and repeat.rows == ()  # every key taken: nothing left to store


def test_identity_ids_past_the_remembered_limit_are_all_found(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "KNOWN_IDENTITIES", 4)
    batch = once_module.BATCH
    items: list[Item] = [day_record(n, who=n % 6) for n in range(batch)]  # then people known and one new
    items += [day_record(n, who=n % 7) for n in range(batch, batch + 10)]
    assert counts(store(engine, items)) == (batch + 10, batch + 10, 0, 0, 0)
    with engine.connect() as conn:
        owners = conn.execute(select(text("count(distinct identity_id)")).select_from(table_of(Usage))).scalar_one()
    assert owners == 7


def test_full_collections_pause_while_storing_and_come_back_after(sqlite_engine: Engine) -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    assert counts(store(sqlite_engine, list(_watching(seen)))) == (1, 1, 0, 0, 0)
    assert seen == [before]  # read before storing began
    with session_scope(sqlite_engine) as session:
        store_records(session, _watching(seen))
    assert seen[-1] == (*before[:2], store_module.PAUSED_THRESHOLD)
    assert gc.get_threshold() == before
    with pytest.raises(FeedError), session_scope(sqlite_engine) as session:
        store_records(session, _failing_after_one())
    assert gc.get_threshold() == before


def _failing_after_one() -> Iterator[Item]:
    yield day_record(1)
    raise FeedError("the whole file is unusable")


def _watching(seen: list[tuple[int, int, int]]) -> Iterator[Item]:
    seen.append(gc.get_threshold())
    yield day_record(1)


def test_two_ingests_at_once_restore_the_threshold_only_when_both_end() -> None:
    before = gc.get_threshold()
    first_in, second_done, seen = threading.Event(), threading.Event(), []
    collections = store_module._FULL_COLLECTIONS

    def first() -> None:
        with collections.paused():
            first_in.set()
            second_done.wait(5)
            seen.append(gc.get_threshold()[2])

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait(5)
    with collections.paused():
        pass
    second_done.set()
    thread.join(5)
    assert seen == [store_module.PAUSED_THRESHOLD]
    assert gc.get_threshold() == before


counts_: st.SearchStrategy[Any] = st.one_of(st.integers(min_value=-3, max_value=2**63 + 3), st.floats(allow_nan=True))
texts = st.text(alphabet=st.sampled_from(["a", "é", "\x00", "\ud800", "-"]), max_size=4)
days = st.dates(min_value=date(2025, 12, 25), max_value=date(2027, 1, 5))


@st.composite
def rows(draw: st.DrawFn) -> UsageRow | ActivityRow:
    who = IdentityRef(draw(st.sampled_from(["email", "e\x00"])), draw(texts))
    if draw(st.booleans()):
        return ActivityRow("s", draw(texts), who, draw(days), "m", draw(st.floats(allow_nan=True)))
    return UsageRow(source="s", record_key=draw(texts), identity=who, day=draw(days), provider="p", tool="t",
                    model=draw(texts), input_tokens=draw(counts_), output_tokens=draw(st.integers(0, 9)),
                    cost_usd=draw(st.none() | st.floats(allow_nan=True, allow_infinity=True)))


@settings(max_examples=300, deadline=None)
@given(st.lists(rows(), max_size=6))
def test_a_batch_found_all_fine_has_no_row_with_a_problem(batch: list[UsageRow | ActivityRow]) -> None:
    if all_fine(_by_type(batch), ordinals(WINDOW)):
        assert [problem(row, WINDOW) for row in batch] == [None] * len(batch)


def test_ordinary_rows_are_all_fine_and_one_bad_field_is_not() -> None:
    batch = [row for n in range(50) for row in day_record(n).rows if isinstance(row, UsageRow | ActivityRow)]
    assert all_fine(_by_type(batch), ordinals(WINDOW))
    row = usage("x")
    for bad in (replace(row, input_tokens=-1), replace(row, cost_usd=math.inf), replace(row, record_key="x\x00"),
                activity("x", "m", math.nan), replace(row, day=date(2025, 1, 1)), replace(row, model="\ud800")):
        assert problem(bad, WINDOW) is not None
        assert not all_fine(_by_type([*batch, bad]), ordinals(WINDOW))


def _by_type(batch: list[UsageRow | ActivityRow]) -> dict[type, list[UsageRow | ActivityRow]]:
    groups: dict[type, list[UsageRow | ActivityRow]] = {}
    for row in batch:
        groups.setdefault(type(row), []).append(row)
    return groups
