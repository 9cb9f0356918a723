"""Ticket times from the Jira changelog and Linear's state history: when work started, when it was first done,
and every time it was reopened."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from random import Random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.feeds.base import OutcomeRow, Record, Rejection, WorkRow
from bot.ingest.feeds.jira import jira_outcomes
from bot.ingest.feeds.linear import linear_outcomes
from tests.conftest import FIXTURES

JIRA = json.loads((FIXTURES / "jira_search.json").read_text())
LINEAR = json.loads((FIXTURES / "linear_issues.json").read_text())


def work(items: Any) -> dict[str, WorkRow]:
    return {r.key: r for i in items if isinstance(i, Record) for r in i.rows if isinstance(r, WorkRow)}


def outcomes(items: Any) -> dict[str, OutcomeRow]:
    return {r.key: r for i in items if isinstance(i, Record) for r in i.rows if isinstance(r, OutcomeRow)}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def history(when: str, *changes: tuple[str, str | None, str | None]) -> dict[str, Any]:
    return {"id": when, "created": when, "items": [
        {"field": field, "fromString": before, "toString": after} for field, before, after in changes]}


def jira_issue(key: str, *histories: dict[str, Any], status: str = "Done", category: str = "done") -> dict[str, Any]:
    issue: dict[str, Any] = copy.deepcopy(JIRA["issues"][0])
    issue["key"] = key
    issue["fields"]["status"] = {"name": status, "statusCategory": {"key": category}}
    issue["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                          "histories": list(histories)}
    return issue


def test_the_jira_changelog_gives_start_first_done_and_reopening() -> None:
    found = work(jira_outcomes(JIRA))
    flaky = found["jira:PLAT-243"]
    assert flaky.opened_at == at("2026-11-05T10:12:44.318+00:00")  # the first move to In Progress, not created
    assert flaky.closed_at == flaky.finished_at == at("2026-11-10T09:20:05.112+00:00")  # first done, not the last
    assert json.loads(flaky.reopened_at) == ["2026-11-10T16:05:37.940000+00:00"]
    # the points still land on the resolution date, as before
    assert outcomes(jira_outcomes(JIRA))["jira:PLAT-243"].occurred_at == at("2026-11-11T14:56:02.069+00:00")
    steady = found["jira:PLAT-240"]
    assert steady.reopened_at == "[]" and steady.closed_at == at("2026-11-09T15:34:16.905+00:00")
    assert steady.opened_at is not None and steady.opened_at < steady.closed_at


def test_without_a_changelog_work_starts_when_the_issue_was_created() -> None:
    issue = copy.deepcopy(JIRA["issues"][0])
    issue.pop("changelog")
    [row] = work(jira_outcomes({"issues": [issue]})).values()
    assert row.opened_at == at("2026-11-02T15:34:16.905+00:00") and row.closed_at == at("2026-11-09T15:34:16.905+00:00")


def test_a_cleared_resolution_and_a_status_leaving_done_are_reopenings_and_names_are_categorised_by_the_page() -> None:
    shipped = jira_issue(  # "Shipped" is a done status here: the page says so through PLAT-2's current status
        "PLAT-1",
        history("2026-11-02T10:00:00.000+0000", ("status", "Backlog", "Doing")),
        history("2026-11-03T10:00:00.000+0000", ("status", "Doing", "Shipped")),
        history("2026-11-04T10:00:00.000+0000", ("status", "Shipped", "Doing")),
        history("2026-11-05T10:00:00.000+0000", ("status", "Doing", "Shipped")),
        history("2026-11-06T10:00:00.000+0000", ("resolution", "Done", None)),
        status="Shipped")
    other = jira_issue("PLAT-2", status="Shipped")
    doing = jira_issue("PLAT-3", status="Doing", category="indeterminate")
    found = work(jira_outcomes({"issues": [doing, shipped, other]}))
    row = found["jira:PLAT-1"]
    assert row.opened_at == at("2026-11-02T10:00:00+00:00") and row.closed_at == at("2026-11-03T10:00:00+00:00")
    assert json.loads(row.reopened_at) == ["2026-11-04T10:00:00+00:00", "2026-11-06T10:00:00+00:00"]


def test_a_ticket_reopened_and_not_done_again_keeps_its_work_details_but_earns_nothing() -> None:
    reopened = jira_issue(
        "PLAT-7",
        history("2026-11-03T10:00:00.000+0000", ("status", "In Progress", "Done"), ("resolution", None, "Done")),
        history("2026-11-04T10:00:00.000+0000", ("status", "Done", "In Progress"), ("resolution", "Done", None)),
        status="In Progress", category="indeterminate")
    reopened["fields"]["resolution"] = reopened["fields"]["resolutiondate"] = None
    never_done = jira_issue("PLAT-8", history("2026-11-03T10:00:00.000+0000", ("status", "To Do", "In Progress")),
                            status="In Progress", category="indeterminate")
    items = list(jira_outcomes({"issues": [reopened, never_done]}))
    assert outcomes(items) == {}
    [row] = work(items).values()
    assert (row.key, row.closed_at) == ("jira:PLAT-7", at("2026-11-03T10:00:00+00:00"))
    assert json.loads(row.reopened_at) == ["2026-11-04T10:00:00+00:00"]  # one change, one reopening


def test_a_bad_changelog_rejects_its_issue_with_the_reason_and_keeps_the_rest() -> None:
    broken = copy.deepcopy(JIRA)
    broken["issues"][1]["changelog"]["histories"][0]["created"] = "last tuesday"
    items = list(jira_outcomes(broken))
    [rejected] = [i for i in items if isinstance(i, Rejection)]
    assert rejected.location == "issues[1]" and "changelog.histories.0.created" in rejected.reason
    assert len(outcomes(items)) == len(JIRA["issues"]) - 1


def linear_node(identifier: str, state: str, *moves: tuple[str, str, str]) -> dict[str, Any]:
    node: dict[str, Any] = copy.deepcopy(LINEAR["data"]["issues"]["nodes"][0])
    node.update(identifier=identifier, state={"name": state, "type": state}, startedAt=None)
    node["history"] = {"nodes": [{"createdAt": when, "fromState": {"type": before}, "toState": {"type": after}}
                                 for when, before, after in moves]}
    return node


def page(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"issues": {"nodes": list(nodes)}}}


def test_linear_history_gives_first_completion_and_a_move_back_from_completed() -> None:
    found = work(linear_outcomes(LINEAR))
    audit = found["linear:PRD-420"]
    assert audit.closed_at == audit.finished_at == at("2026-11-13T15:02:41.077+00:00")
    assert json.loads(audit.reopened_at) == ["2026-11-16T09:31:12.505000+00:00"]
    assert audit.opened_at == at("2026-11-11T19:21:41.809+00:00")  # startedAt
    assert outcomes(linear_outcomes(LINEAR))["linear:PRD-420"].occurred_at == at("2026-11-17T16:52:53.490+00:00")
    assert found["linear:PRD-417"].labels == '["Bug"]' and found["linear:PRD-417"].reopened_at == "[]"


def test_linear_moves_to_canceled_are_no_reopening_and_a_reopened_open_issue_keeps_its_details() -> None:
    canceled = linear_node("PRD-1", "canceled", ("2026-11-02T10:00:00.000Z", "unstarted", "started"),
                           ("2026-11-03T10:00:00.000Z", "started", "completed"),
                           ("2026-11-04T10:00:00.000Z", "completed", "canceled"))
    reopened = linear_node("PRD-2", "started", ("2026-11-04T10:00:00.000Z", "completed", "started"),
                           ("2026-11-03T10:00:00.000Z", "started", "completed"),
                           ("2026-11-02T10:00:00.000Z", "backlog", "started"))
    items = list(linear_outcomes(page(canceled, reopened)))
    assert outcomes(items) == {}
    [row] = work(items).values()
    assert (row.key, row.opened_at, row.closed_at) == (
        "linear:PRD-2", at("2026-11-02T10:00:00+00:00"), at("2026-11-03T10:00:00+00:00"))
    assert json.loads(row.reopened_at) == ["2026-11-04T10:00:00+00:00"]


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_order_of_changes_changes_nothing(shuffle: Random) -> None:
    issue: dict[str, Any] = copy.deepcopy(next(i for i in JIRA["issues"] if i["key"] == "PLAT-243"))
    node: dict[str, Any] = copy.deepcopy(next(n for n in LINEAR["data"]["issues"]["nodes"]
                                              if n["identifier"] == "PRD-420"))
    before = (work(jira_outcomes({"issues": [issue]})), work(linear_outcomes(page(node))))
    shuffle.shuffle(issue["changelog"]["histories"])
    shuffle.shuffle(node["history"]["nodes"])
    assert (work(jira_outcomes({"issues": [issue]})), work(linear_outcomes(page(node)))) == before
