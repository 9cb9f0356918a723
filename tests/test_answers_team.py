"""`team` for the people listed as a team's `managers`, whether or not they are in `people:` (matched by email),
on Slack (real signed requests) and Teams (the Agents SDK's TestFlow); anyone else is told who can."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from microsoft_agents.activity import ChannelAccount

from bot.answers.commands import answer
from bot.answers.types import NotLinked, Refusal, TeamAnswer, UsageProblem
from bot.config.settings import Settings
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.serve.run import slack_app
from bot.slack.http import http_server
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.fakes.slack_api import TOKEN, FakeSlack
from tests.test_slack_commands import SECRET, command_body, signed_headers, wait_reply
from tests.test_teams_cards import IN_W47, card_texts
from tests.test_teams_commands import converse

BOSS = "boss@acme.test"  # manages platform, is in no team and not in `people:`


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_user(BOSS, "U0BOSS")
    fake.add_user("zed@acme.test", "U0ZED")
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Runtime:
    root = tmp_path_factory.mktemp("managers")
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    raw["teams"][0]["managers"] = ["ana@acme.test", "Boss@Acme.test"]
    config = root / "tokenworth.yml"
    config.write_text(yaml.safe_dump(raw))
    settings = Settings(slack_bot_token=TOKEN, slack_api_url=slack.api_url, slack_signing_secret=SECRET,  # type: ignore[arg-type]
                        teams_anonymous=True, public_url="https://bot.acme.test")
    runtime = Runtime(settings, f"sqlite:///{root / 'acme.db'}", str(config))
    prepare(runtime)
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    return runtime


@pytest.fixture(scope="module")
def server(runtime: Runtime) -> Iterator[str]:
    http = http_server(runtime, slack_app(runtime, require_signing_secret=True), "127.0.0.1", 0)
    thread = threading.Thread(target=http.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.effective_port}"
    http.close()


def ask(runtime: Runtime, email: str | None, text: str):  # type: ignore[no-untyped-def]
    return answer(runtime, email, text, now=IN_W47)


def test_a_manager_outside_people_gets_the_team_digest(runtime: Runtime) -> None:
    named = ask(runtime, BOSS, "team platform 2026-W47")
    assert isinstance(named, TeamAnswer) and named.digest.team == "platform"
    unnamed = ask(runtime, "BOSS@acme.test", "team last-week")  # the one team they manage, the shared week syntax
    assert isinstance(unnamed, TeamAnswer) and unnamed.digest.team == "platform" and str(unnamed.digest.week) == \
        "2026-W46"
    assert isinstance(ask(runtime, BOSS, "me"), NotLinked)  # managing a team gives no personal numbers


def test_anyone_else_is_told_who_can(runtime: Runtime) -> None:
    refused = ask(runtime, "cara@acme.test", "team platform")
    assert isinstance(refused, Refusal)
    assert "the team digest for platform is only for that team's configured managers: the people listed under " \
           "\"managers:\" of team platform" in refused.text
    assert BOSS not in refused.text.lower() and "ana@" not in refused.text  # by role, never by name
    assert "There is no team named \"nope\"" in ask(runtime, "cara@acme.test", "team nope").text
    assert isinstance(ask(runtime, "zed@acme.test", "team platform"), NotLinked)  # neither a person nor a manager
    assert isinstance(ask(runtime, BOSS, "team platform 4w"), UsageProblem)


def test_a_manager_outside_people_asks_on_slack(server: str, slack: FakeSlack) -> None:
    body = command_body(slack, "team platform 2026-W47", user="U0BOSS", hook="boss")
    assert httpx.post(f"{server}/slack/events", content=body, headers=signed_headers(body)).status_code == 200
    reply = wait_reply(slack, "boss")
    assert reply["response_type"] == "ephemeral" and "platform" in reply["text"]
    assert "configured managers" not in reply["text"] and "Ask your tokenworth admin" not in reply["text"]
    body = command_body(slack, "team platform 2026-W47", user="U0ZED", hook="zed")
    assert httpx.post(f"{server}/slack/events", content=body, headers=signed_headers(body)).status_code == 200
    assert "Ask your tokenworth admin" in wait_reply(slack, "zed")["text"]


def test_a_manager_outside_people_asks_on_teams(runtime: Runtime, tmp_path: Path) -> None:
    boss = ChannelAccount(id="29:boss", name="Boss", aad_object_id="77777777-0000-4000-8000-000000000000",
                          email=BOSS)
    [card] = converse(runtime, boss, "team platform 2026-W47")
    assert card_texts(card)[0] == "platform · week 2026-W47"
    stranger = ChannelAccount(id="29:zed", name="Zed", aad_object_id="88888888-0000-4000-8000-000000000000",
                              email="zed@acme.test")
    [card] = converse(runtime, stranger, "team platform 2026-W47")
    assert any("Ask your tokenworth admin" in text for text in card_texts(card))
