"""The weekly schedule: day names, team time zones, and a missed run that still posts that morning."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlmodel import select

from bot.config.org import parse_config
from bot.digest.send import week_just_ended
from bot.runtime import Runtime
from bot.serve.scheduler import GRACE_SECONDS, JOBS_TABLE, digest_trigger, start_scheduler
from bot.slack.client import web_client
from bot.slack.poster import SlackPoster
from storage.engine import session_scope
from storage.models import DigestPost
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_digest import demo, demo_template, main_posts, runtime_for, slack  # noqa: F401 - fixtures


def test_trigger_uses_day_names_and_the_team_time_zone() -> None:
    config = parse_config(
        {"teams": [{"name": "t", "timezone": "America/New_York", "digest": {"day": "monday", "time": "09:30"}}]}
    )
    trigger = digest_trigger(config.teams[0])
    after = datetime(2026, 11, 28, 12, tzinfo=UTC)  # a Saturday
    fire = trigger.get_next_fire_time(None, after)
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2026, 11, 30, 14, 30, tzinfo=UTC)  # Mon 09:30 EST


@pytest.mark.parametrize(
    ("zone", "now", "week"),
    [("Asia/Tokyo", datetime(2026, 11, 22, 23, 30, tzinfo=UTC), "2026-W47"),  # Monday 08:30 in Tokyo
     ("America/Los_Angeles", datetime(2026, 11, 23, 3, 0, tzinfo=UTC), "2026-W46"),  # still Sunday in LA
     ("UTC", datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "2026-W47")],
)
def test_the_team_time_zone_decides_which_week_just_ended(zone: str, now: datetime, week: str) -> None:
    assert str(week_just_ended(zone, now)) == week


def wait_for(condition, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def posted_states(runtime: Runtime, team: str = "platform") -> list[str]:
    with session_scope(runtime.engine) as session:
        return list(session.exec(select(DigestPost.state).where(DigestPost.team == team)).all())


def test_a_run_missed_while_the_bot_was_down_posts_when_it_comes_back(
    demo_template: Path, tmp_path: Path, slack: FakeSlack  # noqa: F811
) -> None:
    runtime = runtime_for(demo_template, tmp_path, slack)
    posters = {"slack": SlackPoster(web_client(runtime.settings))}
    scheduler = start_scheduler(runtime, posters)
    assert {j.id for j in scheduler.get_jobs()} >= {f"digest:slack:{t.name}" for t in runtime.config.teams}
    scheduler.shutdown(wait=True)
    # The bot went down before Monday 09:00: its stored jobs were due while nothing ran.
    store = SQLAlchemyJobStore(engine=runtime.engine, tablename=JOBS_TABLE)
    now = datetime.now(UTC)
    for job_id, late in (
        ("digest:slack:platform", timedelta(hours=1)),
        ("digest:slack:product", timedelta(seconds=GRACE_SECONDS + 3600)),
    ):
        job = store.lookup_job(job_id)
        job.next_run_time = now - late
        store.update_job(job)
    assert main_posts(slack) == []

    restarted = runtime_for(demo_template, tmp_path, slack)
    scheduler = start_scheduler(restarted, {"slack": SlackPoster(web_client(restarted.settings))})
    try:
        assert wait_for(lambda: posted_states(restarted) == ["posted"])
        time.sleep(0.5)
        channels = [c.params["channel"] for c in main_posts(slack)]
        assert channels == ["#platform-leads"]  # product's run was missed by more than the grace time
        nxt = scheduler.get_job("digest:slack:platform").next_run_time
        assert nxt > datetime.now(UTC)
    finally:
        scheduler.shutdown(wait=True)


def test_two_schedulers_firing_together_post_once(demo_template: Path, tmp_path: Path, slack: FakeSlack) -> None:  # noqa: F811
    schedulers = []
    for _ in range(2):
        runtime = runtime_for(demo_template, tmp_path, slack)
        scheduler = start_scheduler(runtime, {"slack": SlackPoster(web_client(runtime.settings))}, persistent=False)
        schedulers.append((runtime, scheduler))
    soon = datetime.now(UTC) + timedelta(seconds=1)
    try:
        for _, scheduler in schedulers:
            scheduler.modify_job("digest:slack:growth", next_run_time=soon)
        assert wait_for(lambda: posted_states(schedulers[0][0], "growth") == ["posted"])
        time.sleep(1.5)
        assert [c.params["channel"] for c in main_posts(slack)] == ["#growth-leads"]
    finally:
        for _, scheduler in schedulers:
            scheduler.shutdown(wait=True)
