"""Retention: `retention.days` in the config, `tokenworth purge`, and the daily purge job of `serve`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from bot.config.org import parse_config
from bot.errors import ConfigError
from bot.governance.access import Showing, record_showing
from bot.governance.retention import first_kept_day, purge
from bot.serve.scheduler import run_daily_purge, start_scheduler
from storage.engine import session_scope
from storage.models import (
    Activity,
    Billed,
    ChartImage,
    Identity,
    IngestRun,
    Outcome,
    PublishedSnapshot,
    RejectedRecord,
    Seat,
    Usage,
    table,
)
from tests.conftest import EXAMPLE_CONFIG
from tests.test_cli import tokenworth
from tests.test_governance import acme_runtime, log_rows, write_config

SPLIT = date(2026, 11, 16)  # the fixtures run from 2026-11-09 to 2026-11-22 (UTC days)
DAYS = 400
PURGE_AT = datetime.combine(SPLIT + timedelta(days=DAYS), datetime.min.time(), tzinfo=UTC) + timedelta(hours=4)
DATED = {Usage: "day", Activity: "day", Seat: "day", Outcome: "occurred_at"}


def count(engine: Engine, model: type, before: date | None = None, after: bool = False) -> int:
    t = table(model)
    query = select(func.count()).select_from(t)
    if before is not None:
        column = t.c[DATED[model]]
        edge: date | datetime = datetime.combine(before, datetime.min.time(), tzinfo=UTC) \
            if model is Outcome else before
        query = query.where(column >= edge if after else column < edge)
    with session_scope(engine) as session:
        return int(session.execute(query).scalar_one())


def test_retention_days_default_to_400_and_refuse_too_short() -> None:
    assert parse_config({}).retention.days == 400
    assert parse_config({"retention": {"days": 730}}).retention.days == 730
    with pytest.raises(ConfigError, match=r"retention\.days: must be at least 120"):
        parse_config({"retention": {"days": 30}})
    with pytest.raises(ConfigError, match=r"retention\.keep"):
        parse_config({"retention": {"keep": 3}})


def test_first_kept_day_counts_back_from_today_utc() -> None:
    late_in_berlin = datetime(2026, 12, 1, 0, 30, tzinfo=UTC) - timedelta(hours=1)  # 23:30 UTC on Nov 30
    assert first_kept_day(late_in_berlin, 400) == date(2025, 10, 26)
    assert first_kept_day(PURGE_AT, DAYS) == SPLIT


def test_purge_removes_per_person_rows_older_than_the_window_and_keeps_the_rest(db_url: str) -> None:
    runtime = acme_runtime(db_url)
    engine = runtime.engine
    with session_scope(engine) as session:  # last week's seat snapshot (the fixture holds this week's)
        seat = session.execute(select(table(Seat)).limit(1)).mappings().one()
        session.execute(insert(table(Seat)).values(
            {**{k: v for k, v in seat.items() if k != "id"}, "record_key": "previous", "day": date(2026, 11, 13)}))
    old = {model: count(engine, model, SPLIT) for model in DATED}
    kept = {model: count(engine, model, SPLIT, after=True) for model in DATED}
    assert all(old.values()) and all(kept.values())
    billed = count(engine, Billed)
    record_showing(engine, Showing("digest", "channel", "#platform-leads", "slack", "platform", "2020-W01",
                                   frozenset({1, 2})), now=datetime(2020, 1, 6, tzinfo=UTC))
    with session_scope(engine) as session:
        session.execute(insert(table(PublishedSnapshot)).values(
            team="platform", week="2020-W01", published_at=datetime(2020, 1, 6, tzinfo=UTC), members="1,2",
            figures="{}"))
    log = log_rows(engine)

    result = purge(engine, DAYS, now=PURGE_AT)

    assert result.kept_from == SPLIT
    assert {name: result.removed[name] for name in ("usage", "activity", "outcome", "seat")} == {
        table(m).name: n for m, n in old.items()}
    assert {model: count(engine, model) for model in DATED} == kept
    assert count(engine, Billed) == billed and count(engine, PublishedSnapshot) == 1
    assert log_rows(engine) == log  # the access log is kept without limit
    again = purge(engine, DAYS, now=PURGE_AT)
    assert again.total == 0 and again.lines(DAYS) == [
        f"Retention {DAYS} days: removed rows describing days before {SPLIT}: none found."]


def test_purge_takes_rejected_records_expired_charts_and_identities_left_without_rows(tmp_path: Path) -> None:
    runtime = acme_runtime(f"sqlite:///{tmp_path / 'tw.db'}")
    engine = runtime.engine
    long_ago = datetime(2024, 1, 2, tzinfo=UTC)
    later = PURGE_AT + timedelta(days=30)  # everything ingested is older than the window then
    with session_scope(engine) as session:
        run = session.execute(insert(table(IngestRun)).values(path="old.json", started_at=long_ago)
                              .returning(table(IngestRun).c.id)).scalar_one()
        session.execute(insert(table(RejectedRecord)).values(run_id=run, location="old.json: line 3",
                                                             reason="email: 'gus@acme.test' is unknown"))
        session.execute(insert(table(ChartImage)), [
            {"token": "gone", "content": b"png", "expires_at": later - timedelta(seconds=1)},
            {"token": "kept", "content": b"png", "expires_at": later + timedelta(hours=1)}])
    identities = table(Identity)
    with session_scope(engine) as session:
        unclaimed = session.execute(select(func.count()).select_from(identities)
                                    .where(identities.c.person_id.is_(None))).scalar_one()
        claimed = session.execute(select(func.count()).select_from(identities)
                                  .where(identities.c.person_id.is_not(None))).scalar_one()
    assert unclaimed > 0

    result = purge(engine, DAYS, now=later)

    assert result.removed["rejectedrecord"] == 1 and result.removed["chartimage"] == 1
    assert result.removed["identity"] == unclaimed  # nobody's, and no row uses them any more
    assert count(engine, Identity) == claimed  # the config's aliases stay, their people still exist
    assert count(engine, ChartImage) == 1 and count(engine, RejectedRecord) == 0


def test_tokenworth_purge_prints_what_it_removed_per_table(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tw.db'}"
    runtime = acme_runtime(db)
    with session_scope(runtime.engine) as session:
        identity = session.execute(select(table(Identity).c.id).limit(1)).scalar_one()
        session.execute(insert(table(Usage)).values(
            source="usage_csv", record_key="ancient", identity_id=identity, day=date(2023, 3, 1),
            provider="openai", tool="api", model="gpt-5", input_tokens=1))
    result = tokenworth("purge", "--db", db, "--config", str(EXAMPLE_CONFIG), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Retention 400 days: removed rows describing days before ")
    assert "  usage: 1" in lines and "  activity: 0" in lines
    as_json = tokenworth("purge", "--json", "--db", db, "--config", str(EXAMPLE_CONFIG), cwd=tmp_path)
    assert json.loads(as_json.stdout)["total"] == 0


def test_serve_schedules_a_daily_purge_that_uses_the_configs_retention(tmp_path: Path) -> None:
    config = write_config(tmp_path / "tokenworth.yml", retention={"days": 200})
    runtime = acme_runtime(f"sqlite:///{tmp_path / 'tw.db'}", config)
    scheduler = start_scheduler(runtime, {}, persistent=False)
    try:
        job = scheduler.get_job("purge:daily")
        assert job is not None
        fire = job.trigger.get_next_fire_time(None, datetime(2026, 12, 2, 12, tzinfo=UTC))
        assert fire == datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
    finally:
        scheduler.shutdown(wait=True)
    with session_scope(runtime.engine) as session:
        identity = session.execute(select(table(Identity).c.id).limit(1)).scalar_one()
        session.execute(insert(table(Usage)), [
            {"source": "usage_csv", "record_key": key, "identity_id": identity, "day": day, "provider": "openai",
             "tool": "api", "model": "gpt-5"}
            for key, day in (("201 days ago", datetime.now(UTC).date() - timedelta(days=201)),
                             ("199 days ago", datetime.now(UTC).date() - timedelta(days=199)))])
    run_daily_purge()
    with session_scope(runtime.engine) as session:
        keys = set(session.execute(select(table(Usage).c.record_key).where(table(Usage).c.source == "usage_csv"))
                   .scalars())
    assert "201 days ago" not in keys and "199 days ago" in keys
