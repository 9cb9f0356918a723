"""The differencing guard: two groups shown for the same team and week never differ by a few people."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete

from bot.core.metrics import PersonWeek
from bot.core.privacy import decode, encode, too_close
from bot.digest.build import build_digest
from bot.digest.guard import guard
from bot.digest.send import send_digest
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.slack.client import web_client
from bot.slack.poster import SlackPoster
from storage.engine import session_scope
from storage.models import PublishedSnapshot
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_digest import WEEK, demo_template, runtime_for, slack  # noqa: F401 - fixtures

groups = st.frozensets(st.integers(0, 30), max_size=20)


@given(groups, st.lists(groups, max_size=4), st.integers(5, 8))
def test_a_shown_digest_never_sits_a_few_people_away_from_another(members, shown, floor: int) -> None:
    week = WEEK
    figures = {
        (m, str(week.shift(-b))): PersonWeek(str(week.shift(-b)), spend_usd=10.0, outcome_points=3.0, active=True)
        for m in members for b in range(8)
    }
    digest = guard(build_digest("t", week, figures, sorted(members), floor), shown)
    if not digest.suppressed:
        assert len(digest.active_members) >= floor
        assert not [g for g in shown if 0 < len(g ^ digest.active_members) < floor]
    assert digest.suppressed == (len(members) < floor or any(too_close(members, g, floor) for g in shown))


@given(groups)
def test_member_sets_round_trip(members) -> None:
    assert decode(encode(members)) == members


def move_one_member(runtime: Runtime, tmp_path: Path, team: str = "platform", manager_joins: bool = True) -> Runtime:
    """A config change and a restart: one member of `team` moves to another team (and its manager is
    added to the directory so they can ask `team`); the restarted runtime."""
    config = yaml.safe_load(Path(runtime.config_path).read_text())
    leaver = next(p for p in config["people"] if p["team"] == team)
    leaver["team"] = next(t["name"] for t in config["teams"] if t["name"] != team)
    if manager_joins:
        manager = next(t for t in config["teams"] if t["name"] == team)["managers"][0]
        config["people"].append({"email": manager, "name": "Lead", "team": team})
    changed = tmp_path / "tokenworth.yml"
    changed.write_text(yaml.safe_dump(config))
    moved = Runtime(runtime.settings, runtime.db_url, str(changed))
    prepare(moved)
    return moved


def platform_posts(fake: FakeSlack) -> list:
    return [c for c in fake.called("chat.postMessage")
            if "thread_ts" not in c.params and c.params["channel"] == "#platform-leads"]


def test_a_resend_after_one_person_left_the_team_shows_the_published_figures(
    demo_template: Path, tmp_path: Path, slack: FakeSlack  # noqa: F811
) -> None:
    # Issue 12 changed this rule: the figures first shown are published and every later showing shows
    # them (before, a re-send withheld them); either way the mover's figures cannot be worked out.
    runtime = runtime_for(demo_template, tmp_path, slack)
    poster = SlackPoster(web_client(runtime.settings))
    assert send_digest(runtime, "platform", WEEK, poster).state == "posted"
    moved = move_one_member(runtime, tmp_path)
    assert send_digest(moved, "platform", WEEK, poster, force=True).state == "posted"
    first, second = platform_posts(slack)
    assert "AI spend" in json.dumps(first.params["blocks"])
    assert second.params["blocks"] == first.params["blocks"] and second.params["text"] == first.params["text"]
    from bot.answers.commands import answer

    manager = next(t for t in moved.config.teams if t.name == "platform").managers[0]
    reply = answer(moved, manager, f"team platform {WEEK}")
    # the fallback text gives the metered spend beside the seat cost ("$X of AI cost ($M metered + $S seats)")
    spend = re.search(r"(\$[\d,]+\.\d\d) metered|(\$[\d,]+\.\d\d) of AI spend", first.params["text"])
    assert reply.kind == "team" and spend and f"AI spend                : {spend[1] or spend[2]}" in reply.text


def test_the_guard_still_withholds_a_group_posted_before_snapshots_existed(
    demo_template: Path, tmp_path: Path, slack: FakeSlack  # noqa: F811
) -> None:
    runtime = runtime_for(demo_template, tmp_path, slack)
    poster = SlackPoster(web_client(runtime.settings))
    assert send_digest(runtime, "platform", WEEK, poster).state == "posted"
    with session_scope(runtime.engine) as session:  # a week posted by a version without snapshots
        session.execute(delete(PublishedSnapshot))
    moved = move_one_member(runtime, tmp_path)
    assert send_digest(moved, "platform", WEEK, poster, force=True).state == "posted"
    _first, second = platform_posts(slack)
    assert ("already shown for a group" in json.dumps(second.params["blocks"])
            and "$" not in json.dumps(second.params["blocks"]))
    from bot.answers.commands import answer

    manager = next(t for t in moved.config.teams if t.name == "platform").managers[0]
    reply = answer(moved, manager, f"team platform {WEEK}")
    assert reply.kind == "team" and "already shown for a group" in reply.text
