"""The weekly digest in Slack: the real WebClient against a local fake Slack Web API."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import update

from bot.config.settings import Settings
from bot.core.weeks import Week
from bot.demo.run import DemoSpec, write_demo_org
from bot.digest import ledger as delivery
from bot.digest.send import retry_pending, send_digest, week_just_ended
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.slack.client import web_client
from bot.slack.poster import SlackPoster
from storage.engine import session_scope
from storage.models import DigestPost, Person
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.fakes.slack_api import TOKEN, FakeSlack

WEEK = week_just_ended("UTC")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.channels.update({f"#{t}-leads": f"C0{t.upper()}" for t in ("platform", "product", "payments", "growth")})
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo org ingested once; each test works on its own copy of the database."""
    root = tmp_path_factory.mktemp("demo")
    write_demo_org(DemoSpec(people=24, weeks=3, seed=11, end_week=WEEK), root / "data")
    runtime = Runtime(Settings(), f"sqlite:///{root / 'demo.db'}", str(root / "data" / "tokenworth.yml"))
    prepare(runtime)
    ingest_paths(runtime.engine, [root / "data" / "feeds"])
    runtime.engine.dispose()
    return root


def runtime_for(root: Path, tmp_path: Path, slack: FakeSlack, config: Path | None = None) -> Runtime:
    db = tmp_path / "tokenworth.db"
    if not db.exists():
        shutil.copy(root / "demo.db", db)
    settings = Settings(slack_bot_token=TOKEN, slack_api_url=slack.api_url)  # type: ignore[arg-type]
    return Runtime(settings, f"sqlite:///{db}", str(config or root / "data" / "tokenworth.yml"))


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, slack: FakeSlack) -> Runtime:
    return runtime_for(demo_template, tmp_path, slack)


def poster(runtime: Runtime) -> SlackPoster:
    return SlackPoster(web_client(runtime.settings))


def main_posts(slack: FakeSlack) -> list:
    return [c for c in slack.called("chat.postMessage") if "thread_ts" not in c.params]


def test_each_team_gets_one_digest_with_details_and_charts_in_its_thread(demo: Runtime, slack: FakeSlack) -> None:
    results = [send_digest(demo, t.name, WEEK, poster(demo)) for t in demo.config.teams]
    assert [r.state for r in results] == ["posted"] * 4
    assert all(r.detail.startswith("https://acme.slack.test/archives/") for r in results)
    mains = main_posts(slack)
    assert sorted(c.params["channel"] for c in mains) == sorted(f"#{t.name}-leads" for t in demo.config.teams)
    threads = [c for c in slack.called("chat.postMessage") if "thread_ts" in c.params]
    assert len(threads) == 4
    for call in mains + threads:
        assert call.token == TOKEN and call.params["text"]
        blocks = call.params["blocks"]
        assert 0 < len(blocks) < 50
        for block in Block.parse_all(blocks):
            block.validate_json()
    completes = slack.called("files.completeUploadExternal")
    assert len(completes) == 4 and len(slack.uploads) == 8
    assert all(png.startswith(b"\x89PNG") for png in slack.uploads.values())
    main_ts = {c.params["channel"] for c in mains}
    assert {c.params["channel_id"] for c in completes} == {f"C0{t.name.upper()}" for t in demo.config.teams}
    assert {c.params["thread_ts"] for c in completes} <= {c.params["thread_ts"] for c in threads}
    assert main_ts


def test_posting_again_or_after_a_restart_posts_nothing(
    demo: Runtime, demo_template: Path, tmp_path: Path, slack: FakeSlack
) -> None:
    assert send_digest(demo, "platform", WEEK, poster(demo)).state == "posted"
    assert send_digest(demo, "platform", WEEK, poster(demo)).state == "already"
    restarted = runtime_for(demo_template, tmp_path, slack)
    assert send_digest(restarted, "platform", WEEK, poster(restarted)).state == "already"
    assert len(main_posts(slack)) == 1
    assert send_digest(restarted, "platform", WEEK, poster(restarted), force=True).state == "posted"
    assert len(main_posts(slack)) == 2


def test_two_processes_racing_post_once(demo_template: Path, tmp_path: Path, slack: FakeSlack) -> None:
    runtimes = [runtime_for(demo_template, tmp_path, slack) for _ in range(4)]
    for runtime in runtimes:
        prepare(runtime)
    barrier = threading.Barrier(len(runtimes))
    results = []

    def race(runtime: Runtime) -> None:
        barrier.wait()
        results.append(send_digest(runtime, "growth", WEEK, poster(runtime)).state)

    threads = [threading.Thread(target=race, args=(r,)) for r in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already"] * 3 + ["posted"]
    assert len(main_posts(slack)) == 1


def test_rate_limit_is_honoured_and_the_digest_still_posts_once(demo: Runtime, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=1)
    assert send_digest(demo, "payments", WEEK, poster(demo)).state == "posted"
    calls = slack.called("chat.postMessage")
    assert len([c for c in calls if "thread_ts" not in c.params]) == 2  # the 429, then the retry
    assert calls[1].at - calls[0].at >= 0.9  # waited for Retry-After
    assert len(main_posts(slack)) == 2 and len(slack.called("files.completeUploadExternal")) == 1


def test_not_in_channel_stays_pending_with_advice_and_is_retried(demo: Runtime, slack: FakeSlack) -> None:
    slack.not_member.add("C0PRODUCT")
    result = send_digest(demo, "product", WEEK, poster(demo))
    assert result.state == "pending" and "/invite @tokenworth" in result.detail
    status = [s for s in delivery.statuses(demo.engine) if s["team"] == "product"]
    assert status[0]["state"] == "pending" and "/invite @tokenworth" in status[0]["attention"]
    assert retry_pending(demo, poster(demo))[0].state == "pending"  # still not invited
    slack.not_member.clear()
    assert [r.state for r in retry_pending(demo, poster(demo))] == ["posted"]
    assert retry_pending(demo, poster(demo)) == []
    posted = [c for c in main_posts(slack) if c.params["channel"] == "#product-leads"]
    assert len(posted) == 3  # two refusals, one post


def test_a_crash_between_claim_and_post_is_posted_again_once_and_flagged(demo: Runtime, slack: FakeSlack) -> None:
    # Issue 14 changed this rule: a claim never confirmed is no longer stuck for ever; the retry takes it
    # over exactly once, and `digest status` says a duplicate may be in the channel.
    assert delivery.claim(demo.engine, "platform", str(WEEK), "slack")
    with session_scope(demo.engine) as session:
        session.execute(update(DigestPost).values(claimed_at=datetime.now(UTC) - timedelta(hours=1)))
    assert send_digest(demo, "platform", WEEK, poster(demo)).state == "posted"
    assert retry_pending(demo, poster(demo)) == []
    assert len(main_posts(slack)) == 1
    attention = [s["attention"] for s in delivery.statuses(demo.engine)]
    assert attention and "never confirmed" in attention[0]


def test_a_week_without_data_posts_nothing(demo: Runtime, slack: FakeSlack) -> None:
    result = send_digest(demo, "platform", WEEK.shift(10), poster(demo))
    assert result.state == "skipped"
    assert slack.calls == []


def test_names_appear_only_for_people_who_opted_in(demo: Runtime, slack: FakeSlack) -> None:
    config = demo.config
    members = config.members("platform")
    with session_scope(demo.engine) as session:
        session.execute(update(Person).where(Person.email == members[0].email).values(kudos_opt_in=True))  # type: ignore[arg-type]
    send_digest(demo, "platform", WEEK, poster(demo))
    text = json.dumps([c.params for c in slack.called("chat.postMessage")])
    assert members[0].name in text
    others = [p for p in config.people if p.email != members[0].email]
    assert not [p.name for p in others if p.name in text]
    assert not [p.email for p in config.people if p.email in text]


def test_team_below_the_privacy_floor_gets_a_message_without_figures(tmp_path: Path, slack: FakeSlack) -> None:
    settings = Settings(slack_bot_token=TOKEN, slack_api_url=slack.api_url)  # type: ignore[arg-type]
    runtime = Runtime(settings, f"sqlite:///{tmp_path / 'acme.db'}", str(EXAMPLE_CONFIG))
    prepare(runtime)
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    result = send_digest(runtime, "platform", Week.parse("2026-W47"), poster(runtime))
    assert result.state == "posted"
    (message,) = slack.called("chat.postMessage")
    shown = json.dumps(message.params)
    assert "No team figures this week" in shown and "$" not in shown
    assert slack.uploads == {}


def test_the_message_leads_with_one_finding_and_the_thread_carries_the_evidence(demo: Runtime,
                                                                                 slack: FakeSlack) -> None:
    assert send_digest(demo, "platform", WEEK, poster(demo)).state == "posted"
    (main,) = main_posts(slack)
    blocks = main.params["blocks"]
    assert [b["type"] for b in blocks[:3]] == ["header", "section", "section"]
    assert "text" in blocks[1] and "fields" in blocks[2]  # the finding and its action, then the four figures
    assert blocks[1]["text"]["text"].startswith("*") and "\n" in blocks[1]["text"]["text"]
    (thread,) = [c for c in slack.called("chat.postMessage") if "thread_ts" in c.params]
    shown = json.dumps([main.params, thread.params])
    assert "Which work fits which model" in json.dumps(thread.params)
    org_level = ("Unattributed", "Billed by vendors", "Could have saved", "(s)", "Last ingest")
    assert not [words for words in org_level if words in shown]
