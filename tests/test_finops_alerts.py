"""Budget and cost-per-outcome regression alerts: posted once each to the owning team's manager channel on Slack
and Teams, across two racing schedulers and a restart, naming workflows, models and tools, never a person."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from microsoft_agents.activity import Activity, ActivityTypes, ChannelAccount, ConversationAccount
from slack_sdk import WebClient

from bot.config.settings import Settings
from bot.core.budgets import BudgetState, drivers, regression, shares
from bot.finops.budgets import budget_alerts, run_alerts, text_sender
from bot.governance.access import showings
from bot.ingest.files import ingest_paths
from bot.msteams.auth import connections
from bot.msteams.poster import TeamsPoster
from bot.msteams.references import save_reference
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.slack.poster import SlackPoster
from storage.engine import session_scope
from tests.conftest import FIXTURES
from tests.fakes.slack_api import TOKEN, FakeSlack
from tests.fakes.teams_connector import FakeConnector
from tests.test_finops_workflows import write_finops_files

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # Tuesday of 2026-W48: November so far, and W47 just ended
CHANNEL = "19:evals-leads@thread.tacv2"
# A nightly evaluation workflow: $10 and 20 evaluations a week, then $30 for the same 20 in 2026-W47.
EVALS_USAGE = """day,identity,provider,model,tool,input_tokens,output_tokens,requests,cost_usd
2026-10-27,openai_project:proj_nightly_evals,openai,gpt-5,evals,100000,20000,40,10
2026-11-03,openai_project:proj_nightly_evals,openai,gpt-5,evals,100000,20000,40,10
2026-11-10,openai_project:proj_nightly_evals,openai,gpt-5,evals,100000,20000,40,10
2026-11-17,openai_project:proj_nightly_evals,openai,gpt-5,evals,300000,60000,120,30
"""
EVALS_OUTCOMES = """workflow,date,kind,quantity,ref
nightly-evals,2026-10-28,evals_run,20,evals-w44
nightly-evals,2026-11-04,evals_run,20,evals-w45
nightly-evals,2026-11-11,evals_run,20,evals-w46
nightly-evals,2026-11-18,evals_run,20,evals-w47
"""
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.RequestKey")


def test_a_month_end_forecast_is_the_daily_run_rate() -> None:
    state = BudgetState("workflow", "x", "t", "2026-11", 64.0, 50.0, 23, 30)
    assert state.forecast_usd == pytest.approx(50 / 23 * 30)
    assert state.crossed(0.8) == ["forecast"]  # 50 is under 80% of 64, 65.22 is over 64
    assert BudgetState("team", "x", "t", "2026-11", 50.0, 50.0, 23, 30).crossed(0.8) == [
        "warning", "exceeded", "forecast"]
    assert BudgetState("team", "x", "t", "2026-11", 50.0, 0.0, 0, 30).crossed(0.8) == []


def test_a_regression_needs_volume_and_history() -> None:
    history = [(10.0, 20.0), (10.0, 20.0), (10.0, 20.0)]
    found = regression("workflow", "x", "t", "2026-W47", (30.0, 20.0), history, 1.5, 10)
    assert found is not None and found.cost_per_point == 1.5 and found.trailing_median == 0.5
    assert regression("workflow", "x", "t", "2026-W47", (14.0, 20.0), history, 1.5, 10) is None  # 1.4×
    assert regression("workflow", "x", "t", "2026-W47", (30.0, 5.0), history, 1.5, 10) is None  # too quiet
    assert regression("workflow", "x", "t", "2026-W47", (30.0, 20.0), history[:1], 1.5, 10) is None
    by = shares([("evals", "gpt-5", "evals", 30.0), ("people", "claude-opus-4-6", "cursor", 10.0)])
    assert drivers(by, 40.0) == [
        "workflow evals 75%, people 25%", "model gpt-5 75%, claude-opus-4-6 25%", "tool evals 75%, cursor 25%"]


@pytest.fixture
def evals_config(tmp_path: Path) -> Path:
    raw: dict[str, Any] = yaml.safe_load(write_finops_files(tmp_path / "org").read_text())
    raw["teams"].append({"name": "evals", "slack_channel": "C0EVALS", "teams_channel": CHANNEL,
                         "managers": ["ana@acme.test"]})
    raw["workflows"].append({"name": "nightly-evals", "team": "evals", "outcome_kinds": ["evals_run"],
                             "match": {"openai_project": "proj_nightly_evals"}})
    raw["outcome_kinds"]["evals_run"] = 1
    raw["budgets"] = {"workflows": {"nightly-evals": 64}}
    raw["alerts"] = {"min_points": 10}
    path = tmp_path / "tokenworth.yml"
    path.write_text(yaml.safe_dump(raw))
    (tmp_path / "evals_usage.csv").write_text(EVALS_USAGE)
    (tmp_path / "evals_outcomes.csv").write_text(EVALS_OUTCOMES)
    return path


def evals_feeds(config: Path) -> list[Path]:
    return [config.parent / "evals_usage.csv", config.parent / "evals_outcomes.csv"]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def connector() -> Iterator[FakeConnector]:
    fake = FakeConnector()
    fake.start()
    yield fake
    fake.stop()


def _runtime(db_url: str, config: Path) -> Runtime:
    return Runtime(Settings(teams_anonymous=True), db_url, str(config))


def _senders(runtime: Runtime, slack: FakeSlack) -> list[Any]:
    posters = [SlackPoster(WebClient(token=TOKEN, base_url=slack.api_url)),
               TeamsPoster(runtime, connections(runtime.settings))]
    return [text_sender(p) for p in posters]


def test_a_crossing_and_a_regression_post_once_each_across_racing_schedulers_and_a_restart(
    db_url: str, evals_config: Path, slack: FakeSlack, connector: FakeConnector,
) -> None:
    runtime = _runtime(db_url, evals_config)
    prepare(runtime)
    ingest_paths(runtime.engine, evals_feeds(evals_config))
    save_reference(runtime.engine, Activity(
        type=ActivityTypes.conversation_update, id="u1", channel_id="msteams", service_url=connector.service_url,
        from_property=ChannelAccount(id="29:lead"), recipient=ChannelAccount(id="28:tokenworth-bot"),
        conversation=ConversationAccount(id=CHANNEL, conversation_type="channel", tenant_id="t-acme"),
        members_added=[ChannelAccount(id="28:tokenworth-bot")]))
    racers = [_runtime(db_url, evals_config) for _ in range(2)]
    results: list[list[str]] = []
    threads = [threading.Thread(target=lambda r=r: results.append(
        run_alerts(r.engine, r.config, r.prices, _senders(r, slack), NOW))) for r in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    restarted = _runtime(db_url, evals_config)
    again = run_alerts(restarted.engine, restarted.config, restarted.prices, _senders(restarted, slack), NOW)
    posted = sorted(line for run in results for line in run if line.endswith(": posted"))
    # The evals team has nobody in it: its own cost per point is below the privacy floor, never posted.
    assert posted == sorted(f"{subject} on {platform}: posted" for platform in ("slack", "teams") for subject in (
        "budget:workflow:nightly-evals:forecast 2026-11", "regression:workflow:nightly-evals 2026-W47"))
    assert not [line for line in again if line.endswith(": posted")]
    texts = [call.params["text"] for call in slack.called("chat.postMessage")]
    cards = [a["attachments"][0]["content"]["fallbackText"] for _, a in connector.activities(CHANNEL)]
    assert len(texts) == len(cards) == 2 and sorted(texts) == sorted(cards)
    assert {call.params["channel"] for call in slack.called("chat.postMessage")} == {"C0EVALS"}
    forecast = next(t for t in texts if "on course to exceed" in t)
    assert "$50.00 of $64.00 after 23 of 30 days" in forecast and "$65.22" in forecast
    assert "workflow nightly-evals 100%" in forecast and "model gpt-5 100%" in forecast
    regressed = next(t for t in texts if t.startswith("Cost per outcome point of workflow nightly-evals"))
    assert "rose to $1.50 in 2026-W47, 3.0× the median of the 3 weeks before ($0.50)" in regressed
    assert not any("@" in text for text in texts)  # never a person
    with session_scope(runtime.engine) as session:
        logged = showings(session)
    assert sorted((r["surface"], r["platform"], r["detail"]) for r in logged) == sorted(
        ("finops_alert", platform, subject) for platform in ("slack", "teams")
        for subject in ("budget:workflow:nightly-evals:forecast", "regression:workflow:nightly-evals"))


def test_a_failed_post_gives_its_claim_back(db_url: str, evals_config: Path, slack: FakeSlack) -> None:
    runtime = _runtime(db_url, evals_config)
    prepare(runtime)
    ingest_paths(runtime.engine, evals_feeds(evals_config))
    sender = text_sender(SlackPoster(WebClient(token=TOKEN, base_url=slack.api_url)))
    assert sender is not None
    slack.fail("chat.postMessage", times=1, error="ratelimited")
    first = run_alerts(runtime.engine, runtime.config, runtime.prices, [sender], NOW)
    assert sum(line.endswith("failed, retried next run") for line in first) == 1
    second = run_alerts(runtime.engine, runtime.config, runtime.prices, [sender], NOW)
    assert sum(line.endswith(": posted") for line in first + second) == 2


def test_no_budget_alert_before_any_cost(db_url: str, evals_config: Path) -> None:
    runtime = _runtime(db_url, evals_config)
    prepare(runtime)
    with session_scope(runtime.engine) as session:
        assert budget_alerts(session, runtime.config, runtime.prices, date(2026, 11, 24)) == []


def test_team_budget_alerts_pass_the_privacy_floor(tmp_path: Path) -> None:
    """A team below min_group_size gets no budget alert (its cost is shown to nobody); a team above it gets one
    whose drivers name no model or tool only some of its people account for."""
    raw: dict[str, Any] = yaml.safe_load(write_finops_files(tmp_path / "org").read_text())
    small = {**raw, "budgets": {"teams": {"platform": 100}}}
    everyone = {**raw, "people": [{**p, "team": "platform"} for p in raw["people"]],
                "budgets": {"teams": {"platform": 100}}}
    found = {}
    for name, config in (("small", small), ("everyone", everyone)):
        (tmp_path / f"{name}.yml").write_text(yaml.safe_dump(config))
        runtime = _runtime(f"sqlite:///{tmp_path / name}.db", tmp_path / f"{name}.yml")
        prepare(runtime)
        ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "copilot_billing_seats.json",
                                      FIXTURES / "cursor_usage_events.json"])
        with session_scope(runtime.engine) as session:
            found[name] = budget_alerts(session, runtime.config, runtime.prices, date(2026, 11, 24))
    assert found["small"] == []
    subjects = {a.subject for a in found["everyone"]}
    assert subjects == {f"budget:team:platform:{t}" for t in ("warning", "exceeded", "forecast")}
    text = found["everyone"][0].text
    # Every model and tool is used by only some of the six, so none is named: the workflows are nobody's.
    assert "What drives it: workflow people 99%, ci-pr-review 1%." in text
    assert "model" not in text and "tool" not in text and "@" not in text


def test_serve_schedules_the_alerts_daily_after_the_pulls(
    db_url: str, evals_config: Path, slack: FakeSlack,
) -> None:
    from bot.serve import scheduler as schedule

    runtime = _runtime(db_url, evals_config)
    prepare(runtime)
    ingest_paths(runtime.engine, evals_feeds(evals_config))
    running = schedule.start_scheduler(runtime, {"slack": SlackPoster(WebClient(token=TOKEN, base_url=slack.api_url))},
                                       persistent=False)
    try:
        job = running.get_job("finops:alerts")
        assert job is not None and "hour='5'" in str(job.trigger)
        schedule.run_finops_alerts(NOW)
    finally:
        running.shutdown(wait=False)
    assert len(slack.called("chat.postMessage")) == 2  # the forecast and the regression, once each
