"""Issue 12's attacks, tried as a manager would: through the real `team` command and the real digest send.

Each one now gets the published snapshot or a withheld figure, never one person's figure. The org is
small and exact: team payments has seven members, six active in the digest week with known spends and
one (Gil) with no data at all; the manager sits in team growth.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.answers.commands import answer
from bot.config.settings import Settings
from bot.core.weeks import Week
from bot.digest.build import load_digest
from bot.digest.format import change, money
from bot.digest.send import send_digest, week_just_ended
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.slack.client import web_client
from bot.slack.poster import SlackPoster
from storage.engine import session_scope
from storage.models import AccessLog, table
from tests.fakes.slack_api import TOKEN, FakeSlack

WEEK = week_just_ended("UTC")
LEAD = "lead@pay.test"
PAYMENTS = {  # email: (spend in WEEK, tool, merged PRs in WEEK); every one also spent and shipped in WEEK-1
    "ada@pay.test": (100.11, "claude_code", 1), "bo@pay.test": (150.22, "claude_code", 1),
    "cy@pay.test": (60.33, "openai_api", 1), "di@pay.test": (80.44, "claude_code", 1),
    "ed@pay.test": (120.55, "claude_code", 1), "fi@pay.test": (90.66, "claude_code", 0),
}
GIL = "gil@pay.test"  # in payments, no data in any week
USAGE_HEADER = "day,email,provider,model,tool,input_tokens,output_tokens,requests,cost_usd\n"


def usage_row(email: str, day: object, cost: float, tool: str = "claude_code", model: str = "claude-sonnet-4-6") -> str:
    provider = "openai" if tool == "openai_api" else "anthropic"
    model = "gpt-5" if tool == "openai_api" else model
    return f"{day},{email},{provider},{model},{tool},1000,1000,3,{cost}\n"


def write_org(root: Path) -> Path:
    people = [{"email": e, "name": e.split("@")[0].title(), "team": "payments"} for e in [*PAYMENTS, GIL]]
    people += [{"email": f"g{i}@pay.test", "name": f"Grower {i}", "team": "growth"} for i in range(5)]
    people.append({"email": LEAD, "name": "Lead", "team": "growth"})
    config = {
        "teams": [{"name": name, "slack_channel": f"#{name}-leads", "timezone": "UTC",
                   "digest": {"day": "monday", "time": "09:00"}, "managers": [LEAD]}
                  for name in ("payments", "growth")],
        "people": people,
    }
    (root / "tokenworth.yml").write_text(yaml.safe_dump(config))
    last = WEEK.shift(-1)
    usage, outcomes = USAGE_HEADER, "email,date,kind,ref\n"
    for n, (email, (spend, tool, merged)) in enumerate(PAYMENTS.items()):
        usage += usage_row(email, WEEK.monday, spend, tool) + usage_row(email, last.monday, 70.0 + n, tool)
        outcomes += "".join(f"{email},{WEEK.monday},pr_merged,{email}-{i}\n" for i in range(merged))
        outcomes += f"{email},{last.monday},pr_merged,{email}-last\n"
    (root / "feeds").mkdir()
    (root / "feeds" / "usage.csv").write_text(usage)
    (root / "feeds" / "outcomes.csv").write_text(outcomes)
    return root / "tokenworth.yml"


@pytest.fixture(scope="module")
def org_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("payments")
    config = write_org(root)
    runtime = Runtime(Settings(), f"sqlite:///{root / 'org.db'}", str(config))
    prepare(runtime)
    ingest_paths(runtime.engine, [root / "feeds"])
    runtime.engine.dispose()
    return root


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.channels.update({"#payments-leads": "C0PAYMENTS", "#growth-leads": "C0GROWTH"})
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def org(org_template: Path, tmp_path: Path, slack: FakeSlack) -> Runtime:
    shutil.copy(org_template / "org.db", tmp_path / "org.db")
    shutil.copy(org_template / "tokenworth.yml", tmp_path / "tokenworth.yml")
    settings = Settings(slack_bot_token=TOKEN, slack_api_url=slack.api_url)  # type: ignore[arg-type]
    return Runtime(settings, f"sqlite:///{tmp_path / 'org.db'}", str(tmp_path / "tokenworth.yml"))


def restarted_after(runtime: Runtime, change_config: object) -> Runtime:
    """A config change (a callable on the parsed YAML) and a restart."""
    path = Path(runtime.config_path)
    config = yaml.safe_load(path.read_text())
    change_config(config)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(config))
    moved = Runtime(runtime.settings, runtime.db_url, str(path))
    prepare(moved)
    return moved


def move_ada(config: dict) -> None:
    next(p for p in config["people"] if p["email"] == "ada@pay.test")["team"] = "growth"


def late_row(runtime: Runtime, tmp_path: Path, email: str, cost: float, model: str = "claude-opus-4-6") -> None:
    late = tmp_path / "late.csv"
    late.write_text(USAGE_HEADER + usage_row(email, WEEK.monday, cost, model=model))
    ingest_paths(runtime.engine, [late])


def team_text(runtime: Runtime, week: Week = WEEK) -> str:
    reply = answer(runtime, LEAD, f"team payments {week}")
    assert reply.kind == "team"
    return steady(reply.text)


def steady(text: str) -> str:
    """The figures without the freshness line, whose ingest time moves with every late row ingested."""
    return re.sub(r"Last ingest:[^\n\"]*", "Last ingest: …", text)


def posts(slack: FakeSlack, channel: str = "#payments-leads") -> list[dict]:
    return [c.params for c in slack.called("chat.postMessage")
            if "thread_ts" not in c.params and c.params["channel"] == channel]


def headline_fields(post: dict) -> list[dict]:
    """The four headline figures of a posted digest (the block after the finding)."""
    return next(block["fields"] for block in post["blocks"] if "fields" in block)


def send(runtime: Runtime, week: Week = WEEK, force: bool = False) -> str:
    return send_digest(runtime, "payments", week, SlackPoster(web_client(runtime.settings)), force=force).state


SIX = sum(spend for spend, _tool, _merged in PAYMENTS.values())


def test_a_member_moving_teams_changes_nothing_a_manager_sees(org: Runtime, slack: FakeSlack) -> None:
    first = team_text(org)
    assert f"AI spend                : {money(SIX)}" in first and "People active           : 6" in first
    moved = restarted_after(org, move_ada)
    assert team_text(moved) == first  # not $100.11 less: Ada's spend cannot be read off the difference
    assert send(moved) == "posted"
    (post,) = posts(slack)
    assert money(SIX) in post["text"] and money(SIX - 100.11) not in json.dumps(post)
    with session_scope(moved.engine) as session:
        digest = load_digest(session, moved.config, moved.prices, "payments", WEEK)
    assert "1 people joined" not in (digest.stale or "") and "0 people joined and 1 left" in (digest.stale or "")


def test_a_late_row_for_a_person_inactive_that_week_changes_nothing(org: Runtime, tmp_path: Path,
                                                                     slack: FakeSlack) -> None:
    first = team_text(org)
    late_row(org, tmp_path, GIL, 77.77)
    assert team_text(org) == first  # not 7 people and $77.77 more
    assert send(org) == "posted"
    assert money(SIX) in posts(slack)[0]["text"] and money(SIX + 77.77) not in json.dumps(posts(slack))


def test_a_late_row_for_an_active_person_and_a_forced_resend_show_the_published_figures(
    org: Runtime, tmp_path: Path, slack: FakeSlack
) -> None:
    assert send(org) == "posted"
    late_row(org, tmp_path, "bo@pay.test", 123.45)
    assert send(org, force=True) == "posted"
    first, again = posts(slack)
    assert steady(json.dumps(again["blocks"])) == steady(json.dumps(first["blocks"]))
    assert money(SIX + 123.45) not in json.dumps(again)
    assert money(SIX) in team_text(org)
    with session_scope(org.engine) as session:
        stale = load_digest(session, org.config, org.prices, "payments", WEEK).as_json()["stale"]
    assert "late or restated data changed spend_usd" in stale


def test_a_later_digest_shows_earlier_weeks_as_published_and_unpublished_weeks_as_not_shown(
    org: Runtime, slack: FakeSlack
) -> None:
    last = WEEK.shift(-1)
    assert send(org, last) == "posted"  # W-1 published for six people
    moved = restarted_after(org, move_ada)
    assert send(moved) == "posted"
    with session_scope(moved.engine) as session:
        digest = load_digest(session, moved.config, moved.prices, "payments", WEEK)
    history = {entry["week"]: entry for entry in digest.as_json()["history"]}
    published_last = sum(70.0 + n for n in range(6))
    assert history[str(last)]["spend_usd"] == pytest.approx(published_last)  # six people's, not today's five
    assert history[str(last.shift(-1))] == {"week": str(last.shift(-1)), "published": False, "spend_usd": None,
                                            "outcome_points": None}
    # "vs last week" compares this week's first showing (five people now) with last week as published.
    delta = change(SIX - 100.11, published_last)
    assert delta and delta in headline_fields(posts(slack)[1])[1]["text"]


def test_a_week_never_published_gives_no_delta(org: Runtime, slack: FakeSlack) -> None:
    assert send(org) == "posted"
    fields = headline_fields(posts(slack)[0])
    assert not any("vs last week" in field["text"] for field in fields)


def test_kudos_and_counts_cannot_single_anyone_out(org: Runtime, slack: FakeSlack) -> None:
    for email in list(PAYMENTS)[:5]:  # the five who shipped opt in; Fi spent $90.66 and shipped nothing
        assert answer(org, email, "kudos on").kind == "kudos"
    assert send(org) == "posted"
    shown = json.dumps([c.params for c in slack.called("chat.postMessage")])
    assert not [name for name in ("Ada", "Bo", "Cy", "Di", "Ed", "Fi") if f"{name}:" in shown]
    assert "Names are held back this week" in shown
    assert "spent at least $50.00 with no outcome points" not in shown  # "1 of 6" would be Fi
    assert "Some counts are not shown this week" in shown
    assert "OpenAI API" not in shown and money(60.33) not in shown  # Cy is the only OpenAI API user
    with session_scope(org.engine) as session:
        data = load_digest(session, org.config, org.prices, "payments", WEEK).as_json()
    withheld = {w["line"]: w for w in data["withheld"]}
    assert withheld["tool:openai_api"]["reason"] == "fewer than 5 people are in it"
    assert {"kudos", "signal:spend_without_outcomes"} <= set(withheld)


def test_preview_tells_each_person_which_rules_applied_to_them(org: Runtime, slack: FakeSlack) -> None:
    for email in list(PAYMENTS)[:5]:
        answer(org, email, "kudos on")
    assert send(org) == "posted"
    fi = answer(org, "fi@pay.test", "preview").text
    assert "Your spend without outcome points flag is not counted in the digest: it is about fewer than 5" in fi
    assert "It never names you" in fi and "published on" in fi
    cy = answer(org, "cy@pay.test", "preview").text
    assert "Your OpenAI API spend is not broken out: fewer than 5 people are in it" in cy
    assert "names nobody this week: names are shown only while at least 5 active people stay unnamed" in cy


def test_every_showing_with_figures_is_logged_with_the_people_it_covered(org: Runtime, slack: FakeSlack) -> None:
    team_text(org)
    assert send(org) == "posted"
    with session_scope(org.engine) as session:
        rows = [dict(r) for r in session.execute(select(table(AccessLog)).order_by(table(AccessLog).c.id)).mappings()]
        ids = {pid for (pid,) in session.execute(select(table(AccessLog).c.members))}
    assert [(r["surface"], r["audience_kind"], r["audience"], r["platform"]) for r in rows] == [
        ("team", "person", LEAD, None), ("digest", "channel", "C0PAYMENTS", "slack")]
    assert all(r["team"] == "payments" and r["week"] == str(WEEK) for r in rows)
    assert len(ids) == 1 and len(next(iter(ids)).split(",")) == 6


def test_a_week_that_is_not_over_is_neither_shown_nor_published(org: Runtime) -> None:
    from datetime import UTC, datetime, time

    midweek = datetime.combine(WEEK.monday, time(12), tzinfo=UTC)
    reply = answer(org, LEAD, f"team payments {WEEK}", now=midweek)
    assert reply.kind == "team" and "is not over yet" in reply.text and "$" not in reply.text
    assert money(SIX) in team_text(org)  # once it is over, the whole week is published


def test_spend_by_model_and_the_feeds_named_never_single_out_the_one_user_of_a_model(org: Runtime,
                                                                                    slack: FakeSlack) -> None:
    """Issue 18's new lines: Cy alone ran gpt-5 through the OpenAI API; neither is named, here or in a re-send."""
    assert send(org) == "posted"
    moved = restarted_after(org, move_ada)
    assert send(moved, force=True) == "posted"
    shown = json.dumps([c.params for c in slack.called("chat.postMessage")])
    assert "gpt-5" not in shown and "OpenAI API" not in shown and money(60.33) not in shown
    first, again = posts(slack)
    assert json.dumps(again["blocks"]) == json.dumps(first["blocks"])  # the feeds named are the snapshot's
    with session_scope(moved.engine) as session:
        data = load_digest(session, moved.config, moved.prices, "payments", WEEK).as_json()
    withheld = {w["line"] for w in data["withheld"]}
    assert any("gpt-5" in line for line in withheld) and "reach:tool:openai_api" in withheld
    assert "tool:openai_api" not in data["data_through"] and not any("gpt-5" in k for k in data["spend_by_model"])
