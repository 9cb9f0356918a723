"""A digest is never lost to a crash mid-post or a locked database: it is retried, and status says so."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.digest import ledger
from bot.digest.send import retry_pending, send_digest
from bot.runtime import Runtime
from bot.serve import scheduler
from storage import engine as storage_engine
from storage.engine import session_scope
from storage.models import DigestPost
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_digest import WEEK, demo, demo_template, main_posts, poster, slack  # noqa: F401 - fixtures

NEXT_MONDAY = datetime.combine(WEEK.end, time(), tzinfo=UTC)  # 00:00 UTC on the Monday after WEEK
AFTER_WEEK = NEXT_MONDAY + timedelta(days=4, hours=12)  # every team's digest is due by then


def stop_mid_post(runtime: Runtime, team: str = "platform", minutes_ago: int = 60) -> None:
    """What a process leaves behind when it dies after claiming and before confirming the post."""
    assert ledger.claim(runtime.engine, team, str(WEEK), "slack")
    with session_scope(runtime.engine) as session:
        session.execute(update(DigestPost).values(claimed_at=datetime.now(UTC) - timedelta(minutes=minutes_ago)))


def test_a_stale_claim_is_taken_over_by_the_retry_and_posted_once(demo: Runtime, slack: FakeSlack) -> None:  # noqa: F811
    stop_mid_post(demo)
    results = retry_pending(demo, poster(demo))
    assert [(r.team, r.state) for r in results] == [("platform", "posted")]
    assert len(main_posts(slack)) == 1
    assert retry_pending(demo, poster(demo)) == []
    [row] = [s for s in ledger.statuses(demo.engine) if s["team"] == "platform"]
    assert row["state"] == "posted" and "stopped mid-post" in row["attention"]
    assert "delete the older one" in row["attention"]


def test_a_fresh_claim_is_left_to_the_process_that_holds_it(demo: Runtime, slack: FakeSlack) -> None:  # noqa: F811
    stop_mid_post(demo, minutes_ago=1)
    assert retry_pending(demo, poster(demo)) == []
    assert send_digest(demo, "platform", WEEK, poster(demo)).state == "already"
    assert main_posts(slack) == []


def test_two_retries_racing_for_one_stale_claim_post_once(demo: Runtime, slack: FakeSlack) -> None:  # noqa: F811
    stop_mid_post(demo)
    barrier = threading.Barrier(2)
    states: list[str] = []

    def retry() -> None:
        barrier.wait()
        states.append(send_digest(demo, "platform", WEEK, poster(demo)).state)

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(states) == ["already", "posted"]
    assert len(main_posts(slack)) == 1


@pytest.fixture
def locked_briefly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_engine, "SQLITE_BUSY_MS", 200)


def hold_write_lock(db: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


@pytest.fixture
def context(demo: Runtime) -> Iterator[Runtime]:  # noqa: F811
    scheduler._CONTEXT.update(runtime=demo, posters={"slack": poster(demo)})
    yield demo
    scheduler._CONTEXT.clear()


def test_a_scheduled_digest_that_meets_a_locked_database_is_caught_up_once_the_lock_is_gone(
    context: Runtime, slack: FakeSlack, locked_briefly: None,  # noqa: F811
) -> None:
    db = Path(context.db_url.removeprefix("sqlite:///"))
    holder = hold_write_lock(db)
    try:
        scheduler.run_scheduled_digest("platform", "slack")  # logs and returns: no traceback, no row
        scheduler.run_pending("slack", now=AFTER_WEEK)  # still locked: waits for the next round
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert main_posts(slack) == []
    assert not ledger.has_row(context.engine, "platform", str(WEEK), "slack")
    scheduler.run_pending("slack", now=AFTER_WEEK)
    posted = {c.params["channel"] for c in main_posts(slack)}
    assert "#platform-leads" in posted
    assert ledger.has_row(context.engine, "platform", str(WEEK), "slack")
    before = len(main_posts(slack))
    scheduler.run_pending("slack", now=AFTER_WEEK)
    assert len(main_posts(slack)) == before  # caught up once, never again


def test_the_catch_up_waits_for_each_teams_digest_time(context: Runtime, slack: FakeSlack) -> None:  # noqa: F811
    teams = {t.name: t.timezone for t in context.config.teams}
    tokyo = next(name for name, zone in teams.items() if zone == "Asia/Tokyo")
    monday_8am_in_tokyo = NEXT_MONDAY - timedelta(hours=1)
    scheduler.run_pending("slack", now=monday_8am_in_tokyo)
    assert not ledger.has_row(context.engine, tokyo, str(WEEK), "slack")  # its digest is due at 09:00
    scheduler.run_pending("slack", now=monday_8am_in_tokyo + timedelta(hours=1, minutes=5))
    assert ledger.has_row(context.engine, tokyo, str(WEEK), "slack")
    new_york = next(name for name, zone in teams.items() if zone == "America/New_York")
    assert not ledger.has_row(context.engine, new_york, str(WEEK), "slack")  # still Sunday evening there


def test_digest_send_on_a_locked_database_says_nothing_changed_and_exits_1(
    demo: Runtime, slack: FakeSlack, locked_briefly: None,  # noqa: F811
) -> None:
    from click.testing import CliRunner

    from bot.cli import cli
    from tests.fakes.slack_api import TOKEN

    holder = hold_write_lock(Path(demo.db_url.removeprefix("sqlite:///")))
    try:
        result = CliRunner().invoke(
            cli, ["digest", "send", "--team", "platform", "--week", str(WEEK), "--db", demo.db_url,
                  "--config", demo.config_path],
            env={"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": slack.api_url},
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1, result.output
    assert "database is unavailable (database is locked)" in result.output and "nothing was changed" in result.output
    assert main_posts(slack) == []
