"""Usage events stored as rollups, counted once through the dedup ledger; the migration that folds old rows."""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, column, func, insert, select
from sqlalchemy import table as sa_table

from bot.config.org import OrgConfig
from bot.core.prices import PriceTable
from bot.governance.retention import purge
from bot.ingest.feeds import FEEDS, litellm_columnar
from bot.ingest.feeds.base import Record, UsageEvent
from bot.ingest.files import ingest_file, ingest_paths
from bot.people.directory import sync_directory
from storage import make_engine, upgrade
from storage.engine import session_scope
from storage.ledger import key_count
from storage.models import Identity, IngestedFile, Usage, table
from storage.rollups import SUMS, rollup_key
from storage.writes import identity_ids
from tests.conftest import FIXTURES
from tests.test_counted_once import totals

EVENT_FILES = [FIXTURES / "litellm_spend_logs.json", FIXTURES / "cursor_usage_events.json"]
TEMPLATE = json.loads((FIXTURES / "litellm_spend_logs.json").read_text())["data"][0]
FIRST_DAY = date(2026, 11, 16)


def rollups(engine: Engine) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """Each usage row's figures by its dimensions (the identity by kind and value: ids differ between databases)."""
    usage, identity = table(Usage), table(Identity)
    dimensions = [usage.c[name] for name in ("source", "day", "provider", "tool", "model", "billing", "work_ref")]
    figures = [usage.c[name] for name in (*SUMS, "cost_usd")]
    query = select(identity.c.kind, identity.c.value, *dimensions, *figures).join(
        identity, identity.c.id == usage.c.identity_id)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(query)]
    width = 2 + len(dimensions)
    return {row[:width] + (row[-1] is None,): (*row[width:-1], round(row[-1] or 0, 9)) for row in rows}


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(model))).scalar_one())


def keys(engine: Engine) -> int:
    with engine.connect() as conn:
        return key_count(conn)


def spend_line(n: int, user: int, tokens: int, tag: str | None = None, key: str | None = None) -> str:
    start = datetime.combine(FIRST_DAY, datetime.min.time(), UTC) + timedelta(hours=7 * n)
    row = {**TEMPLATE, "request_id": key or f"req-{n}", "user": f"u{user}@acme.test", "prompt_tokens": tokens,
           "completion_tokens": n, "spend": tokens / 1000, "startTime": start.isoformat(), "metadata": {}}
    if tag is not None:
        row["request_tags"] = [tag]
    return json.dumps(row) + "\n"


def test_events_fold_into_one_rollup_per_person_day_and_model(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    log.write_text("".join(spend_line(n, 1, 100) for n in range(3)) + spend_line(3, 2, 50))
    report = ingest_file(sqlite_engine, log)
    assert (report.records, report.stored) == (4, 4)
    assert sorted(rollups(sqlite_engine).values()) == [(50, 3, 0, 0, 0, 1, 0.05), (300, 3, 0, 0, 0, 3, 0.3)]
    assert keys(sqlite_engine) == 4


def test_a_work_reference_is_its_own_rollup_dimension(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    log.write_text(spend_line(0, 1, 10, "ticket:PLAT-7") + spend_line(1, 1, 10, "PLAT-8") + spend_line(2, 1, 10))
    ingest_file(sqlite_engine, log)
    with sqlite_engine.connect() as conn:
        refs = sorted(conn.execute(select(table(Usage).c.work_ref)).scalars())
    assert refs == ["", "ticket:PLAT-7", "ticket:PLAT-8"]


def test_an_overlapping_file_counts_only_its_new_events(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text("".join(spend_line(n, n % 2, 10 * n) for n in range(6)))
    (tmp_path / "b.jsonl").write_text("".join(spend_line(n, n % 2, 10 * n) for n in range(4, 9)))
    first = ingest_file(engine, tmp_path / "a.jsonl")
    second = ingest_file(engine, tmp_path / "b.jsonl")
    assert (first.stored, second.stored, second.duplicates) == (6, 3, 2)
    assert sum(sums[0] for sums in rollups(engine).values()) == 10 * sum(range(9))
    assert keys(engine) == 9


def test_a_file_ingested_before_is_not_parsed_again(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    log.write_text("".join(spend_line(n, 1, 10) for n in range(5)))
    first = ingest_file(sqlite_engine, log)

    class Exploding:  # the same feed, but parsing fails loudly: the second ingest must never parse
        name, priority, unique_keys = "litellm", 0, False

        def parse(self, path: Path) -> Any:
            raise AssertionError("parsed again")
            yield  # a generator, as every feed's parse is: nothing runs until the store reads it

    again = _ingest_with(sqlite_engine, log, Exploding())
    assert (again.records, again.stored, again.duplicates) == (first.records, 0, first.stored)
    assert count(sqlite_engine, IngestedFile) == 1
    log.write_text(log.read_text() + spend_line(9, 1, 10))  # other bytes: parsed, and only the new event counts
    changed = ingest_file(sqlite_engine, log)
    assert (changed.stored, changed.duplicates) == (1, 5)


def _ingest_with(engine: Engine, path: Path, feed: Any) -> Any:
    from bot.ingest import files

    saved = files.detect
    files.detect = lambda head, source=None: feed  # type: ignore[assignment]
    try:
        return ingest_file(engine, path)
    finally:
        files.detect = saved


def test_the_purge_forgets_event_keys_after_the_dedup_window(sqlite_engine: Engine, tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    log.write_text("".join(spend_line(n, 1, 10) for n in range(8)))  # 7 hours apart: 4 on the 16th, 3, then 1
    ingest_file(sqlite_engine, log)
    done = purge(sqlite_engine, 400, now=datetime(2026, 12, 19, tzinfo=UTC), dedup_days=31)
    assert done.removed["eventledger"] == 7  # the 16th and 17th are more than 31 days back; the 18th stays
    assert keys(sqlite_engine) == 1 and done.removed["usage"] == 0


LOG = [spend_line(n, n % 3, 7 + n) for n in range(14)]


@settings(max_examples=12, deadline=None)
@given(cuts=st.lists(st.tuples(st.integers(0, 13), st.integers(1, 14)), min_size=1, max_size=4),
       repeats=st.lists(st.integers(0, 4), max_size=3), order=st.randoms(use_true_random=False),
       column_wise=st.booleans())
def test_any_overlapping_split_in_any_order_gives_the_rollups_of_one_ingest(
    cuts: list[tuple[int, int]], repeats: list[int], order: Any, column_wise: bool,
) -> None:
    """The whole log once, record by record; its parts in any order and number, read column-wise or not."""
    saved = litellm_columnar.MIN_BYTES
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        whole = _database(folder / "once.db")
        (folder / "whole.jsonl").write_text("".join(LOG))
        ingest_file(whole, folder / "whole.jsonl")
        parts = [folder / "whole.jsonl"] if not cuts else []
        covered: set[int] = set()
        for index, (start, length) in enumerate(cuts):
            lines = range(start, min(len(LOG), start + length))
            covered.update(lines)
            parts.append(folder / f"part{index}.jsonl")
            parts[-1].write_text("".join(LOG[n] for n in lines))
        rest = [n for n in range(len(LOG)) if n not in covered]
        (folder / "rest.jsonl").write_text("".join(LOG[n] for n in rest))
        files = [*parts, folder / "rest.jsonl", *(parts[r % len(parts)] for r in repeats)]
        order.shuffle(files)
        split = _database(folder / "split.db")
        litellm_columnar.MIN_BYTES = 0 if column_wise else saved
        try:
            ingest_paths(split, files)
        finally:
            litellm_columnar.MIN_BYTES = saved
        assert rollups(split) == rollups(whole)
        whole.dispose()
        split.dispose()


_EMPTY: list[Path] = []


def _database(path: Path) -> Engine:
    """A migrated SQLite database, copied from one migrated once (migrating takes a second)."""
    if not _EMPTY:
        template = Path(tempfile.mkdtemp()) / "empty.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        _EMPTY.append(template)
    shutil.copyfile(_EMPTY[0], path)
    return make_engine(f"sqlite:///{path}")


def test_the_migration_folds_per_request_rows_with_the_same_person_week_figures(
    db_url: str, engine: Engine, acme_config: OrgConfig, prices: PriceTable, tmp_path: Path,
) -> None:
    sync_directory(engine, acme_config)
    ingest_paths(engine, EVENT_FILES)
    expected = totals(engine, acme_config, prices)

    old = make_engine(db_url.replace("tokenworth.db", "old.db") if db_url.startswith("sqlite") else _other(db_url))
    upgrade(old, "0010")
    sync_directory(old, acme_config)
    rows = _per_request_rows(old)
    upgrade(old)
    assert totals(old, acme_config, prices) == expected
    assert keys(old) == rows and count(old, Usage) == count(engine, Usage) < rows
    again = ingest_paths(old, EVENT_FILES)  # files ingested before the upgrade count nothing again
    assert [r.stored for r in again] == [0, 0] and totals(old, acme_config, prices) == expected
    old.dispose()


def _per_request_rows(engine: Engine) -> int:
    """The event fixtures stored as the schema before rollups stored them: one usage row per request."""
    values = []
    with session_scope(engine) as session:
        for path, source in zip(EVENT_FILES, ("litellm", "cursor_events"), strict=True):
            parsed = [item for item in FEEDS[source].parse(path) if isinstance(item, Record)]
            events = {(r.source, r.record_key): r for i in parsed for r in i.rows if isinstance(r, UsageEvent)}
            ids = identity_ids(session, {(e.identity.kind, e.identity.value) for e in events.values()})
            for event in events.values():
                row = {k: v for k, v in vars(event).items() if k not in ("identity", "work_ref")}
                values.append({**row, "identity_id": ids[(event.identity.kind, event.identity.value)]})
        old_usage = sa_table("usage", *(column(name) for name in values[0]))
        session.execute(insert(old_usage), values)
    return len(values)


def _other(url: str) -> str:
    """A second empty database on the same PostgreSQL server."""
    from sqlalchemy import text

    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1] + "_old"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def test_the_md5_migration_rekeys_rollups_and_leaves_other_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0013")
    usage = sa_table("usage", *(column(name) for name in (
        "source", "record_key", "identity_id", "day", "provider", "tool", "model", "billing", "work_ref", "cost_usd",
        "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "requests")))
    figures = {"input_tokens": 1, "output_tokens": 2, "cache_read_tokens": 0, "cache_write_tokens": 0, "requests": 1}
    with engine.begin() as conn:
        conn.execute(insert(sa_table("identity", column("kind"), column("value"))).values(kind="litellm", value="ana"))
        identity = conn.execute(select(column("id")).select_from(sa_table("identity"))).scalar_one()
        common = {"identity_id": identity, "day": date(2026, 11, 17), "provider": "openai", "model": "gpt-5",
                  "work_ref": "", **figures}
        conn.execute(insert(usage), [
            {**common, "source": "litellm", "record_key": "r:blake2b-era-key", "tool": "litellm", "billing": "gateway",
             "cost_usd": 0.5},
            {**common, "source": "claude_code", "record_key": "2026-11-17|ana|gpt-5", "tool": "claude_code",
             "billing": "api", "cost_usd": None},
        ])
    upgrade(engine)
    with engine.connect() as conn:
        found = dict(conn.execute(select(usage.c.source, usage.c.record_key)).all())
    assert found["litellm"] == rollup_key({**common, "tool": "litellm", "billing": "gateway", "cost_usd": 0.5})
    assert found["claude_code"] == "2026-11-17|ana|gpt-5"
    engine.dispose()
