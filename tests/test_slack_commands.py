"""/tokenworth end to end: signed requests over real HTTP into `serve --http`, answers to a fake Slack."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_bolt.request import BoltRequest
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier

from bot.answers.commands import answer
from bot.answers.types import MeAnswer
from bot.config.settings import Settings
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.serve.run import slack_app
from bot.slack.http import http_server
from storage.engine import session_scope
from storage.models import Person
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.fakes.slack_api import TOKEN, FakeSlack

SECRET = "test-signing-secret"
WEEK = "2026-W47"


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    fake.add_user("stranger@else.test", "U0STRANGER")
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Runtime:
    root = tmp_path_factory.mktemp("acme")
    settings = Settings(slack_bot_token=TOKEN, slack_api_url=slack.api_url, slack_signing_secret=SECRET,  # type: ignore[arg-type]
                        github_webhook_secret="acme-test-webhook-secret")
    runtime = Runtime(settings, f"sqlite:///{root / 'acme.db'}", str(EXAMPLE_CONFIG))
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


def command_body(slack: FakeSlack, text: str, user: str = "U0CARA", hook: str = "1") -> str:
    return urlencode({
        "token": "legacy", "team_id": "T0ACME", "team_domain": "acme", "channel_id": "C0RANDOM",
        "channel_name": "random", "user_id": user, "user_name": "someone", "command": "/tokenworth",
        "text": text, "api_app_id": "A0TW", "response_url": f"{slack.url}/respond/{hook}", "trigger_id": "1.2.3",
    })


def signed_headers(body: str, secret: str = SECRET, timestamp: int | None = None,
                   content_type: str = "application/x-www-form-urlencoded") -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"X-Slack-Request-Timestamp": ts, "Content-Type": content_type,
            "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)}


def wait_reply(slack: FakeSlack, hook: str, seconds: float = 15) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [r for r in slack.responses if r["path"] == f"/respond/{hook}"]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no reply on response_url {hook}")


counter = iter(range(10_000))


def ask(server: str, slack: FakeSlack, text: str, user: str = "U0CARA") -> dict:
    hook = f"h{next(counter)}"
    body = command_body(slack, text, user, hook)
    response = httpx.post(f"{server}/slack/events", content=body, headers=signed_headers(body), timeout=10)
    assert response.status_code == 200 and response.text == ""  # the ack: empty, within Slack's 3 seconds
    reply = wait_reply(slack, hook)
    assert reply["response_type"] == "ephemeral"
    for block in Block.parse_all(reply.get("blocks") or []):
        block.validate_json()
    return reply


def test_me_for_a_week_is_the_askers_own_figures(server: str, slack: FakeSlack) -> None:
    reply = ask(server, slack, f"me {WEEK}")
    assert "Cara Chen · week 2026-W47" in reply["text"] and "$6.48" in reply["text"]
    assert "5 merged PRs" in reply["text"] and "15 outcome points" in reply["text"]
    assert "Only you can see this" in json.dumps(reply["blocks"])
    assert "Ben" not in reply["text"] and "ana@" not in reply["text"]


def test_me_reads_at_a_glance_as_a_header_and_fields(server: str, slack: FakeSlack) -> None:
    reply = ask(server, slack, f"me {WEEK}")
    blocks = reply["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Cara Chen · week 2026-W47"}}
    fields = [f["text"] for f in blocks[1]["fields"]]
    assert fields[0] == "*AI spend*\n$6.48" and fields[1].startswith("*Tokens*\n22.6 M tokens, ")
    assert fields[1].endswith("% cache reads") and "*Outcome points*\n15" in fields
    assert json.dumps(blocks).count("Only you can see this") == 1 and blocks[-1]["type"] == "context"
    assert "0 reverted" not in reply["text"] and "$0.00" not in reply["text"]


@pytest.mark.parametrize(("text", "week"), [("me 2026-w47", "2026-W47"), ("me LAST-WEEK", "2026-W"),
                                            ("me this-week", "2026-W")])
def test_me_takes_the_shared_week_syntax(server: str, slack: FakeSlack, text: str, week: str) -> None:
    assert f"Cara Chen · week {week}" in ask(server, slack, text)["text"]


@pytest.mark.parametrize(
    ("text", "expect"),
    [("", "/tokenworth me"), ("help", "/tokenworth kudos on|off"), ("me last-week", "week 2026-W"),
     ("me 4w", "Total:"), ("me 2026-W99", "does not exist"), ("me yesterday", "or `me YYYY-Www`"),
     ("frobnicate", "I don't know `frobnicate`"), ("privacy", "Feeds with data about you: claude_code, github"),
     ("preview", "digest for platform"), ("kudos maybe", "kudos on")],
)
def test_every_subcommand_answers(server: str, slack: FakeSlack, text: str, expect: str) -> None:
    assert expect in ask(server, slack, text)["text"]


def test_kudos_on_and_off_change_the_opt_in(server: str, slack: FakeSlack, runtime: Runtime) -> None:
    def opted() -> bool:
        with session_scope(runtime.engine) as session:
            return bool(session.get(Person, 3).kudos_opt_in)  # type: ignore[union-attr]

    assert "Kudos on" in ask(server, slack, "kudos on")["text"] and opted()
    assert "Kudos off" in ask(server, slack, "kudos off")["text"] and not opted()


def test_trend_uploads_a_chart_to_the_askers_dm(server: str, slack: FakeSlack) -> None:
    before = len(slack.called("files.completeUploadExternal"))
    reply = ask(server, slack, "trend")
    assert reply["text"].startswith("Your last 8 weeks:")
    complete = slack.called("files.completeUploadExternal")[before:]
    assert [c.params["channel_id"] for c in complete] == ["D0CARA"]
    assert slack.called("conversations.open")[-1].params["users"] == "U0CARA"


@pytest.mark.parametrize("method", ["files.getUploadURLExternal", "files.completeUploadExternal", "conversations.open"])
def test_trend_still_answers_the_numbers_when_the_chart_cannot_be_uploaded(
    server: str, slack: FakeSlack, method: str
) -> None:
    slack.fail(method, error="missing_scope")
    reply = ask(server, slack, "trend")
    assert reply["text"].startswith("Your last 8 weeks:") and "points" in reply["text"]
    assert "The chart could not be attached" in reply["text"]
    assert "The chart could not be attached" in json.dumps(reply["blocks"])
    assert "Sorry, something went wrong" not in reply["text"]
    assert not slack.faults[method]  # the fault was met, not skipped


def test_trend_with_its_chart_has_no_note(server: str, slack: FakeSlack) -> None:
    assert "could not be attached" not in ask(server, slack, "trend")["text"]


def test_team_digest_only_for_its_managers(server: str, slack: FakeSlack) -> None:
    assert "only for that team's configured managers" in ask(server, slack, "team product", user="U0CARA")["text"]
    digest = ask(server, slack, f"team product {WEEK}", user="U0DEV")  # Dev manages product
    assert "product" in digest["text"] and "No team figures" in digest["text"]


def test_unknown_person_is_told_how_to_get_linked(server: str, slack: FakeSlack) -> None:
    assert "Ask your tokenworth admin" in ask(server, slack, "me", user="U0STRANGER")["text"]
    assert "Ask your tokenworth admin" in ask(server, slack, "me", user="U0NOBODY")["text"]


@pytest.mark.parametrize(
    "headers",
    [lambda b: signed_headers(b, secret="wrong-secret"), lambda b: signed_headers(b, timestamp=int(time.time()) - 301),
     lambda b: {"Content-Type": "application/x-www-form-urlencoded"}],
    ids=["forged", "stale", "unsigned"],
)
def test_forged_stale_and_unsigned_requests_get_401_and_trigger_nothing(server: str, slack: FakeSlack, headers) -> None:
    calls, replies = len(slack.calls), len(slack.responses)
    body = command_body(slack, "me", hook="never")
    response = httpx.post(f"{server}/slack/events", content=body, headers=headers(body), timeout=10)
    assert response.status_code == 401
    time.sleep(0.3)
    assert len(slack.calls) == calls and len(slack.responses) == replies


def test_app_home_publishes_the_askers_week(server: str, slack: FakeSlack) -> None:
    body = json.dumps({"type": "event_callback", "team_id": "T0ACME", "api_app_id": "A0TW", "event_id": "Ev1",
                       "event_time": int(time.time()),
                       "event": {"type": "app_home_opened", "user": "U0ELI", "tab": "home"}})
    response = httpx.post(f"{server}/slack/events", content=body,
                          headers=signed_headers(body, content_type="application/json"))
    assert response.status_code == 200
    deadline = time.monotonic() + 10
    while not slack.called("views.publish") and time.monotonic() < deadline:
        time.sleep(0.05)
    (call,) = slack.called("views.publish")
    assert call.params["user_id"] == "U0ELI"
    view = call.params["view"] if isinstance(call.params["view"], dict) else json.loads(call.params["view"])
    assert view["type"] == "home" and "Eli Evans" in json.dumps(view["blocks"])
    assert "Your last 8 weeks" in json.dumps(view["blocks"])
    assert json.dumps(view["blocks"]).count("Only you can see this") == 1  # the privacy footer, once
    assert view["blocks"][0]["type"] == "header" and view["blocks"][-1]["type"] == "context"


def test_health_and_unknown_paths(server: str) -> None:
    health = httpx.get(f"{server}/healthz").json()
    assert health == {"ok": True, "status": "ok", "database": {**health["database"], "ok": True}}
    assert httpx.get(f"{server}/nope").status_code == 404


def test_github_webhook_is_verified_before_it_is_read(server: str, runtime: Runtime) -> None:
    body = (FIXTURES / "github_webhook_pull_request_merged.json").read_bytes()
    headers = json.loads((FIXTURES / "github_webhook_pull_request_merged.headers.json").read_text())
    headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "host")}
    assert httpx.post(f"{server}/webhooks/github", content=body, headers=headers).status_code == 200
    forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert httpx.post(f"{server}/webhooks/github", content=body, headers=forged).status_code == 401


def test_socket_mode_request_path_answers_without_a_signature(runtime: Runtime, slack: FakeSlack) -> None:
    app = slack_app(runtime, require_signing_secret=False)
    payload = dict(kv.split("=", 1) for kv in command_body(slack, f"me {WEEK}", user="U0BEN", hook="sock").split("&"))
    from urllib.parse import unquote_plus

    payload = {k: unquote_plus(v) for k, v in payload.items()}
    response = app.dispatch(BoltRequest(body=payload, mode="socket_mode"))
    assert response.status == 200
    assert "Ben Brooks · week 2026-W47" in wait_reply(slack, "sock")["text"]


people_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["me <@U0BEN|ben>", "me ben@acme.test", "team platform <@U0ANA>", "me U0BEN", "kudos on <@U0ANA>",
                     "me " + "x" * 5000, "ME 4W", "me 99w", "team", "team nope 2026-W47", "me\u0000\u202e", "🚀 me"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=people_text)
def test_any_command_text_gets_a_reply_about_the_asker_only(runtime: Runtime, text: str) -> None:
    reply = answer(runtime, "cara@acme.test", text)
    assert reply.text
    others = ("ben@acme.test", "Ben Brooks", "ana@acme.test", "Ana Alvarez", "eli@", "Eli Evans")
    if reply.kind != "team":
        assert not [o for o in others if o in reply.text]
    assert all(r.email == "cara@acme.test" for r in (reply.reports if isinstance(reply, MeAnswer) else ()))


def test_people_are_linked_to_slack_users_by_email(runtime: Runtime, slack: FakeSlack) -> None:
    from bot.slack.client import web_client
    from bot.slack.identity import email_for_user, link_people

    assert link_people(runtime, web_client(runtime.settings)) == 6
    with session_scope(runtime.engine) as session:
        linked = {p.email: p.slack_user_id for p in session.exec(__import__("sqlmodel").select(Person)).all()}
    assert linked["fay@acme.test"] == "U0FAY" and linked["ben@acme.test"] == "U0BEN"
    looked_up = len(slack.called("users.info"))
    assert email_for_user(runtime, web_client(runtime.settings), "U0FAY") == "fay@acme.test"
    assert len(slack.called("users.info")) == looked_up  # answered from the cache


def test_answers_computed_in_a_worker_process_are_the_same(runtime: Runtime, slack: FakeSlack) -> None:
    from bot.slack.workers import ask, worker_pool

    with worker_pool(runtime, size=1) as pool:
        there = ask(pool, runtime, "cara@acme.test", f"me {WEEK}")
        app = slack_app(runtime, require_signing_secret=False, workers=pool)
        payload = {"team_id": "T0ACME", "user_id": "U0CARA", "command": "/tokenworth", "text": f"me {WEEK}",
                   "response_url": f"{slack.url}/respond/pool", "trigger_id": "1"}
        assert app.dispatch(BoltRequest(body=payload, mode="socket_mode")).status == 200
        assert "Cara Chen · week 2026-W47" in wait_reply(slack, "pool")["text"]
    here = answer(runtime, "cara@acme.test", f"me {WEEK}")
    assert there.text == here.text and there.kind == "me"


def test_linking_people_survives_an_unreachable_slack(runtime: Runtime) -> None:
    from slack_sdk import WebClient

    from bot.slack.identity import link_people
    from tests.pg import free_port

    unreachable = WebClient(token=TOKEN, base_url=f"http://127.0.0.1:{free_port()}/api/")
    assert link_people(runtime, unreachable) == 0
