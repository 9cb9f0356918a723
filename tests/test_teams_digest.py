"""The weekly digest in Teams: send_digest with the TeamsPoster, proactive posts to a local fake Bot Connector."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from microsoft_agents.activity import Activity, ActivityTypes, ChannelAccount, ConversationAccount

from bot.config.settings import Settings
from bot.demo.run import DemoSpec, write_demo_org
from bot.digest.send import retry_pending, send_digest, week_just_ended
from bot.ingest.files import ingest_paths
from bot.msteams.auth import connections
from bot.msteams.charts import ChartStore
from bot.msteams.http import build_app
from bot.msteams.poster import TeamsPoster
from bot.msteams.references import save_reference
from bot.people.directory import prepare
from bot.runtime import Runtime
from tests.fakes.teams_connector import FakeConnector
from tests.test_teams_cards import assert_valid_card, card_texts

WEEK = week_just_ended("UTC")
POSTED_AT = datetime.now(UTC)
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")


def channel_of(team: str) -> str:
    return f"19:{team}-leads@thread.tacv2"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo org ingested once, every team with a Teams channel; each test copies the database."""
    root = tmp_path_factory.mktemp("teams-demo")
    write_demo_org(DemoSpec(people=24, weeks=3, seed=11, end_week=WEEK), root / "data")
    config = yaml.safe_load((root / "data" / "tokenworth.yml").read_text())
    for team in config["teams"]:
        team["teams_channel"] = channel_of(team["name"])
    (root / "data" / "tokenworth.yml").write_text(yaml.safe_dump(config))
    runtime = Runtime(Settings(), f"sqlite:///{root / 'demo.db'}", str(root / "data" / "tokenworth.yml"))
    prepare(runtime)
    ingest_paths(runtime.engine, [root / "data" / "feeds"])
    runtime.engine.dispose()
    return root


@pytest.fixture
def connector() -> Iterator[FakeConnector]:
    fake = FakeConnector()
    fake.start()
    yield fake
    fake.stop()


def runtime_for(root: Path, tmp_path: Path) -> Runtime:
    db = tmp_path / "tokenworth.db"
    if not db.exists():
        shutil.copy(root / "demo.db", db)
    settings = Settings(teams_anonymous=True, public_url="https://bot.demo.test")  # type: ignore[call-arg]
    return Runtime(settings, f"sqlite:///{db}", str(root / "data" / "tokenworth.yml"))


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Runtime:
    return runtime_for(demo_template, tmp_path)


def poster(runtime: Runtime) -> TeamsPoster:
    return TeamsPoster(runtime, connections(runtime.settings), ChartStore(runtime.engine, clock=lambda: POSTED_AT))


def bot_added_to(runtime: Runtime, connector: FakeConnector, channel: str) -> None:
    """What the bot stores when Teams tells it it was added to a team (its General channel)."""
    activity = Activity(
        type=ActivityTypes.conversation_update, id="u1", channel_id="msteams", service_url=connector.service_url,
        from_property=ChannelAccount(id="29:lead"), recipient=ChannelAccount(id="28:tokenworth-bot", name="tokenworth"),
        conversation=ConversationAccount(id=channel, conversation_type="channel", tenant_id="t-demo"),
        members_added=[ChannelAccount(id="28:tokenworth-bot")],
    )
    save_reference(runtime.engine, activity)


def test_each_team_gets_one_valid_digest_card_in_its_channel(demo: Runtime, connector: FakeConnector) -> None:
    teams = [t.name for t in demo.config.teams]
    bot_added_to(demo, connector, channel_of(teams[0]))  # the others are reached through the same team reference
    results = [send_digest(demo, team, WEEK, poster(demo)) for team in teams]
    assert [r.state for r in results] == ["posted"] * len(teams)
    assert all(r.detail.startswith("https://teams.microsoft.com/l/message/") for r in results)
    for team in teams:
        [(_, activity)] = connector.activities(channel_of(team))
        card = activity["attachments"][0]["content"]
        assert_valid_card(card)
        assert card_texts(card)[0] == f"{team} · week {WEEK}"
        assert activity["summary"].startswith(f"tokenworth weekly digest for {team}")
        images = [e["url"] for e in card["body"] if e["type"] == "Image"]
        assert len(images) == 2 and all(u.startswith("https://bot.demo.test/charts/") for u in images)


def test_posting_again_or_after_a_restart_posts_nothing(demo: Runtime, demo_template: Path, tmp_path: Path,
                                                       connector: FakeConnector) -> None:
    bot_added_to(demo, connector, channel_of("platform"))
    team = demo.config.teams[0].name
    assert send_digest(demo, team, WEEK, poster(demo)).state == "posted"
    assert send_digest(demo, team, WEEK, poster(demo)).state == "already"
    restarted = runtime_for(demo_template, tmp_path)
    assert send_digest(restarted, team, WEEK, poster(restarted)).state == "already"
    assert len(connector.activities()) == 1


def test_a_team_with_both_platforms_has_one_claim_each(demo: Runtime, connector: FakeConnector) -> None:
    from bot.digest import ledger as delivery

    bot_added_to(demo, connector, channel_of("platform"))
    team = demo.config.teams[0].name
    assert send_digest(demo, team, WEEK, poster(demo)).state == "posted"
    assert delivery.claim(demo.engine, team, str(WEEK), "slack")  # Slack's claim is its own
    assert not delivery.claim(demo.engine, team, str(WEEK), "teams")


def test_before_the_bot_is_added_the_digest_stays_pending_and_is_retried(
    demo: Runtime, connector: FakeConnector
) -> None:
    team = demo.config.teams[0].name
    result = send_digest(demo, team, WEEK, poster(demo))
    assert result.state == "pending" and "add it to that team" in result.detail
    assert connector.activities() == []
    bot_added_to(demo, connector, channel_of(team))
    [retried] = retry_pending(demo, poster(demo))
    assert retried.state == "posted"
    assert len(connector.activities(channel_of(team))) == 1


def test_a_connector_failure_leaves_the_digest_pending(demo: Runtime, connector: FakeConnector) -> None:
    bot_added_to(demo, connector, channel_of("platform"))
    team = demo.config.teams[0].name
    connector.faults.append(503)
    result = send_digest(demo, team, WEEK, poster(demo))
    assert result.state == "pending" and "HTTP 503" in result.detail
    [retried] = retry_pending(demo, poster(demo))
    assert retried.state == "posted"
    assert len(connector.activities()) == 2  # the refused post and the retry: no error text ever reached the channel


def test_the_digest_chart_is_served_until_it_expires_then_404s(demo: Runtime, connector: FakeConnector) -> None:
    bot_added_to(demo, connector, channel_of("platform"))
    assert send_digest(demo, demo.config.teams[0].name, WEEK, poster(demo)).state == "posted"
    [(_, activity)] = connector.activities()
    url = next(e["url"] for e in activity["attachments"][0]["content"]["body"] if e["type"] == "Image")
    path = url.removeprefix("https://bot.demo.test")
    now = {"at": POSTED_AT + timedelta(days=1)}

    async def fetch() -> list[tuple[int, bytes]]:
        async with TestClient(TestServer(build_app(demo, lambda: now["at"]))) as client:
            seen = []
            for at in (POSTED_AT + timedelta(days=1), POSTED_AT + timedelta(days=29), POSTED_AT + timedelta(days=31)):
                now["at"] = at
                response = await client.get(path)
                seen.append((response.status, await response.read()))
            return seen

    (ok, png), (still, _), (gone, _) = asyncio.run(fetch())
    assert ok == 200 and png.startswith(b"\x89PNG")
    assert still == 200 and gone == 404


def test_without_a_public_url_the_digest_still_posts_without_charts(demo_template: Path, tmp_path: Path,
                                                                    connector: FakeConnector) -> None:
    runtime = runtime_for(demo_template, tmp_path)
    runtime.settings = Settings(teams_anonymous=True)  # type: ignore[call-arg]
    bot_added_to(runtime, connector, channel_of("platform"))
    assert send_digest(runtime, runtime.config.teams[0].name, WEEK, poster(runtime)).state == "posted"
    [(_, activity)] = connector.activities()
    card = activity["attachments"][0]["content"]
    assert_valid_card(card)
    assert not [e for e in card["body"] if e["type"] == "Image"]


def test_the_other_platform_shows_the_figures_first_shown_elsewhere(demo: Runtime, tmp_path: Path,
                                                                     connector: FakeConnector) -> None:
    """A manager's `team` (on Slack, say) publishes platform's week; after a member moves, Teams posts that."""
    from bot.answers.commands import answer

    path = tmp_path / "tokenworth.yml"
    config = yaml.safe_load(Path(demo.config_path).read_text())
    manager = next(t for t in config["teams"] if t["name"] == "platform")["managers"][0]
    config["people"].append({"email": manager, "name": "Lead", "team": "growth"})

    def restart() -> Runtime:
        path.write_text(yaml.safe_dump(config))
        runtime = Runtime(demo.settings, demo.db_url, str(path))
        prepare(runtime)
        return runtime

    shown = answer(restart(), manager, f"team platform {WEEK}").text
    spend = next(line.split(":", 1)[1].split()[0] for line in shown.splitlines() if line.startswith("AI spend"))
    next(p for p in config["people"] if p["team"] == "platform")["team"] = "growth"
    moved = restart()
    bot_added_to(moved, connector, channel_of("platform"))
    assert send_digest(moved, "platform", WEEK, poster(moved)).state == "posted"
    [(_, activity)] = connector.activities(channel_of("platform"))
    texts = card_texts(activity["attachments"][0]["content"])
    assert f"AI spend: {spend}" in texts and "People active: 6" in texts


def test_the_card_leads_with_the_finding_and_carries_no_org_level_line(demo: Runtime, connector: FakeConnector) -> None:
    bot_added_to(demo, connector, channel_of("platform"))
    assert send_digest(demo, "platform", WEEK, poster(demo)).state == "posted"
    [(_, activity)] = connector.activities(channel_of("platform"))
    texts = card_texts(activity["attachments"][0]["content"])
    first_fact = next(n for n, text in enumerate(texts) if text.startswith("Outcome points:"))
    assert first_fact == 3 and texts[1] and texts[2]  # title, finding, action, then the headline figures
    shown = "\n".join(texts)
    assert "Which work fits which model" in shown and "Data through: " in shown
    assert not [w for w in ("Unattributed", "Billed by vendors", "Could have saved", "(s)") if w in shown]
