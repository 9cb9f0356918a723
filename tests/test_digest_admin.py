"""The admin digest (issue 18): org-level lines leave the team digests and go, weekly and exactly once, to
`admin_channel` on Slack (the real WebClient against the fake Slack Web API) and Teams (the fake connector)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from apscheduler.schedulers.background import BackgroundScheduler

from bot.config.org import parse_config
from bot.config.settings import Settings
from bot.core.weeks import Week
from bot.digest.admin import ADMIN, admin_text, load_admin_digest
from bot.digest.send import retry_pending, send_admin_digest, send_digest
from bot.errors import ConfigError
from bot.msteams.auth import connections
from bot.msteams.charts import ChartStore
from bot.msteams.poster import TeamsPoster
from bot.runtime import Runtime
from bot.serve.scheduler import start_scheduler
from bot.slack.client import web_client
from bot.slack.poster import SlackPoster
from storage.engine import session_scope
from tests.fakes.slack_api import FakeSlack
from tests.fakes.teams_connector import FakeConnector
from tests.test_slack_digest import WEEK, demo_template, main_posts, runtime_for  # noqa: F401 - fixtures
from tests.test_teams_cards import assert_valid_card
from tests.test_teams_digest import bot_added_to

ADMIN_SLACK, ADMIN_TEAMS = "#tokenworth-admin", "19:admin@thread.tacv2"
ORG_LINES = ("Unattributed", "Billed by vendors", "identities nobody claims", "nobody claims")


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.channels.update({f"#{t}-leads": f"C0{t.upper()}" for t in ("platform", "product", "payments", "growth")})
    fake.channels[ADMIN_SLACK] = "C0ADMIN"
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path, slack: FakeSlack) -> Runtime:  # noqa: F811 - the imported fixture
    config = yaml.safe_load((demo_template / "data" / "tokenworth.yml").read_text())
    config["admin_channel"] = {"slack_channel": ADMIN_SLACK, "teams_channel": ADMIN_TEAMS, "timezone": "UTC"}
    path = tmp_path / "tokenworth.yml"
    path.write_text(yaml.safe_dump(config))
    return runtime_for(demo_template, tmp_path, slack, path)


def slack_poster(runtime: Runtime) -> SlackPoster:
    return SlackPoster(web_client(runtime.settings))


def admin_posts(slack: FakeSlack) -> list[dict]:
    return [c.params for c in main_posts(slack) if c.params["channel"] == ADMIN_SLACK]


def test_admin_channel_is_validated_like_the_rest_of_the_config() -> None:
    assert parse_config({"admin_channel": {"teams_channel": ADMIN_TEAMS}}).admin_channel is not None
    for bad, words in [({}, "needs a slack_channel, a teams_channel, or both"),
                       ({"slack_channel": ADMIN_SLACK, "timezone": "Mars/Base"}, "unknown time zone"),
                       ({"slack_channel": ADMIN_SLACK, "digest": {"day": "1"}}, "must be a day name"),
                       ({"slack_channel": ADMIN_SLACK, "channel": "#x"}, "channel")]:
        with pytest.raises(ConfigError, match=words):
            parse_config({"admin_channel": bad})


def test_team_digests_carry_no_org_level_line_and_the_admin_digest_carries_them(demo: Runtime,
                                                                                 slack: FakeSlack) -> None:
    for team in demo.config.teams:
        assert send_digest(demo, team.name, WEEK, slack_poster(demo)).state == "posted"
    team_posts = json.dumps([c.params for c in slack.called("chat.postMessage")])
    assert not [words for words in ORG_LINES if words in team_posts]
    assert send_admin_digest(demo, WEEK, slack_poster(demo)).state == "posted"
    (post,) = admin_posts(slack)
    shown = json.dumps(post)
    assert "tokenworth admin digest" in shown and "Data through: " in shown
    assert "(s)" not in shown and "$0.00" not in shown
    with session_scope(demo.engine) as session:
        admin = load_admin_digest(session, demo.config, demo.prices, WEEK)
    spend = admin.value("unattributed_spend_usd")
    assert spend is not None and (spend > 0) == ("Unattributed AI spend" in shown)
    assert not [p.email for p in demo.config.people if p.email in shown]  # counts and dollars, never who


def test_the_admin_digest_is_posted_once_and_a_refusal_is_retried(demo: Runtime, slack: FakeSlack) -> None:
    slack.not_member.add("C0ADMIN")
    first = send_admin_digest(demo, WEEK, slack_poster(demo))
    assert first.state == "pending" and "/invite @tokenworth" in first.detail
    slack.not_member.clear()
    assert [(r.team, r.state) for r in retry_pending(demo, slack_poster(demo))] == [(ADMIN, "posted")]
    assert send_admin_digest(demo, WEEK, slack_poster(demo)).state == "already"
    assert retry_pending(demo, slack_poster(demo)) == []
    assert len(admin_posts(slack)) == 2  # the refusal and the one post
    assert send_admin_digest(demo, WEEK, slack_poster(demo), force=True).state == "posted"


def test_a_week_without_data_tells_the_admin_to_check_the_feeds(demo: Runtime) -> None:
    with session_scope(demo.engine) as session:
        text = admin_text(load_admin_digest(session, demo.config, demo.prices, Week.parse("2020-W01")))
    assert "No usage data reached tokenworth for this week: check the feeds." in text
    assert "Unattributed" not in text and "$" not in text


def test_the_admin_digest_reaches_teams_as_a_valid_card(demo: Runtime) -> None:
    connector = FakeConnector()
    connector.start()
    try:
        teams = Runtime(Settings(teams_anonymous=True), demo.db_url, demo.config_path)  # type: ignore[call-arg]
        bot_added_to(teams, connector, ADMIN_TEAMS)
        poster = TeamsPoster(teams, connections(teams.settings), ChartStore(teams.engine))
        assert send_admin_digest(teams, WEEK, poster).state == "posted"
        assert send_admin_digest(teams, WEEK, poster).state == "already"
        [(_, activity)] = connector.activities(ADMIN_TEAMS)
    finally:
        connector.stop()
    card = activity["attachments"][0]["content"]
    assert_valid_card(card)
    assert card["body"][0]["text"] == f"tokenworth admin digest · week {WEEK}"


def test_the_scheduler_runs_the_admin_digest_beside_the_team_digests(demo: Runtime, slack: FakeSlack) -> None:
    scheduler: BackgroundScheduler = start_scheduler(demo, {"slack": slack_poster(demo)}, persistent=False)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    admin = jobs[f"digest:slack:{ADMIN}"]
    assert admin.args == ("slack",) and admin.func_ref.endswith(":run_scheduled_admin_digest")
    assert {f"digest:slack:{t.name}" for t in demo.config.teams} <= set(jobs)
