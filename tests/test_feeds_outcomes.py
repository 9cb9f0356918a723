"""Outcome feeds beyond GitHub: Jira search pages, Linear issues, and the generic outcomes CSV."""

from __future__ import annotations

import copy
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from bot.answers.me import me_report
from bot.config.org import OrgConfig
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.errors import FeedError
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import OutcomeRow, Record, Rejection
from bot.ingest.feeds.jira import jira_outcomes
from bot.ingest.feeds.linear import linear_outcomes
from bot.ingest.feeds.outcomes_csv import parse_outcomes_csv
from bot.ingest.files import ingest_file
from storage.engine import session_scope
from storage.models import Identity, Outcome, Person
from tests.conftest import FIXTURES, ROOT
from tests.contract import FeedCase, check_contract

JIRA = json.loads((FIXTURES / "jira_search.json").read_text())
LINEAR = json.loads((FIXTURES / "linear_issues.json").read_text())
DOC = ROOT / "docs" / "outcomes-csv.md"
CARA_JIRA = "712020:9619e056-db4f-49c1-8c9a-772bee1eb46d"


def rows(items: Any) -> list[OutcomeRow]:
    return [row for item in items if isinstance(item, Record) for row in item.rows if isinstance(row, OutcomeRow)]


def rejections(items: Any) -> list[Rejection]:
    return [item for item in items if isinstance(item, Rejection)]


def jira_issue(index: int = 0, **fields: Any) -> dict[str, Any]:
    issue = copy.deepcopy(JIRA["issues"][index])
    issue["fields"].update(fields)
    return issue


def linear_issue(index: int = 0, **changes: Any) -> dict[str, Any]:
    issue = copy.deepcopy(LINEAR["data"]["issues"]["nodes"][index])
    issue.update(changes)
    return issue


def linear_page(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"issues": {"nodes": list(nodes), "pageInfo": {"hasNextPage": False}}}}


def doc_example() -> str:
    block = re.search(r"```csv\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None, "docs/outcomes-csv.md lost its example"
    return block[1]


# --- the adapter contract -------------------------------------------------------------------------

def _jira_change(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(text)
    change(document["issues"][0])
    return json.dumps(document)


def _jira_every(text: str) -> str:
    document = json.loads(text)
    for issue in document["issues"]:
        issue["x_unknown"] = {"nested": [1]}
        issue["fields"]["customfield_99999"] = "whatever"
    return json.dumps(document)


def _linear_change(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(text)
    change(document["data"]["issues"]["nodes"][2])
    return json.dumps(document)


def _linear_every(text: str) -> str:
    document = json.loads(text)
    for node in document["data"]["issues"]["nodes"]:
        node["x_unknown"] = {"nested": [1]}
    return json.dumps(document)


def _csv_every(text: str) -> str:
    lines = text.splitlines()
    return "\n".join([lines[0] + ",x_unknown", *(line + ",zzz" for line in lines[1:])]) + "\n"


def _csv_bad_second_row(text: str) -> str:
    lines = text.splitlines()
    lines[2] = lines[2].replace("2026-11-18T09:30:00Z", "last tuesday")
    return "\n".join(lines) + "\n"


def contract_cases(tmp_path: Path) -> list[FeedCase]:
    csv_fixture = tmp_path / "outcomes.csv"
    csv_fixture.write_text(doc_example(), encoding="utf-8")
    return [
        FeedCase("jira", FIXTURES / "jira_search.json",
                 corrupt=lambda t: _jira_change(t, lambda i: i["fields"].update(resolutiondate="yesterday")),
                 bad_location="issues[0]", add_unknown_field=_jira_every, empty='{"issues": [], "isLast": true}'),
        FeedCase("linear", FIXTURES / "linear_issues.json",
                 corrupt=lambda t: _linear_change(t, lambda i: i.update(estimate="big")),
                 bad_location="data.issues.nodes[2]", add_unknown_field=_linear_every,
                 empty='{"data": {"issues": {"nodes": [], "pageInfo": {"hasNextPage": false}}}}'),
        FeedCase("outcomes_csv", csv_fixture, corrupt=_csv_bad_second_row, bad_location="line 3",
                 add_unknown_field=_csv_every, empty="email,date,kind,quantity,ref\n"),
    ]


@pytest.mark.parametrize("source", ["jira", "linear", "outcomes_csv"])
def test_outcome_feed_contract(source: str, sqlite_engine: Engine, tmp_path: Path) -> None:
    case = next(c for c in contract_cases(tmp_path) if c.source == source)
    check_contract(case, sqlite_engine, tmp_path)


# --- Jira -----------------------------------------------------------------------------------------

def test_jira_fixture_gives_one_ticket_per_resolved_issue_on_the_assignee() -> None:
    found = rows(jira_outcomes(JIRA))
    assert len(found) == len(JIRA["issues"]) == 13
    first = found[0]
    assert (first.key, first.kind, first.source) == ("jira:PLAT-240", "ticket_closed", "jira")
    assert (first.identity.kind, first.identity.value) == ("jira", CARA_JIRA)
    assert first.occurred_at == datetime(2026, 11, 9, 15, 34, 16, 905000, tzinfo=UTC)
    assert (first.quantity, first.title) == (2.0, "Retry transient S3 errors in export worker")
    assert sum(r.quantity for r in found) == sum(i["fields"]["customfield_10016"] for i in JIRA["issues"])


def test_jira_resolution_date_with_an_offset_is_converted_to_utc() -> None:
    found = rows(jira_outcomes({"issues": [jira_issue(resolutiondate="2026-11-16T00:30:00.000+0100")]}))
    assert found[0].occurred_at == datetime(2026, 11, 15, 23, 30, tzinfo=UTC)
    assert Week.of(found[0].occurred_at) == Week.parse("2026-W46")  # Monday 00:30 in Berlin is still W46 in UTC


@pytest.mark.parametrize("resolution", ["Won't Do", "Duplicate", "won't fix", "Cannot Reproduce", "Declined"])
def test_jira_resolutions_that_mean_nothing_was_done_are_skipped(resolution: str) -> None:
    items = list(jira_outcomes({"issues": [jira_issue(resolution={"name": resolution})]}))
    assert items == [Record("issues[0]", ())]


def test_jira_exclusions_and_points_field_can_be_configured() -> None:
    page = {"issues": [jira_issue(0, resolution={"name": "Shipped"}, customfield_10026=5),
                       jira_issue(1, resolution={"name": "Won't Do"}, customfield_10026=2.5)]}
    found = rows(jira_outcomes(page, excluded=("Shipped",), points_field="customfield_10026"))
    assert [(r.key, r.quantity) for r in found] == [("jira:PLAT-241", 2.5)]


@pytest.mark.parametrize(
    "fields",
    [
        {"status": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
        {"resolutiondate": None},
        {"assignee": None},
    ],
    ids=["not-done", "unresolved", "unassigned"],
)
def test_jira_issues_that_are_not_closed_by_someone_are_skipped(fields: dict[str, Any]) -> None:
    assert list(jira_outcomes({"issues": [jira_issue(**fields)]})) == [Record("issues[0]", ())]


def test_jira_points_missing_or_null_count_one_and_fractions_are_kept() -> None:
    missing = jira_issue(0)
    del missing["fields"]["customfield_10016"]
    page = {"issues": [missing, jira_issue(1, customfield_10016=None), jira_issue(2, customfield_10016=0.5)]}
    assert [r.quantity for r in rows(jira_outcomes(page))] == [1.0, 1.0, 0.5]


def test_jira_falls_back_to_email_only_without_an_account_id() -> None:
    assignee = {"emailAddress": "Ana@Acme.test", "displayName": "Ana"}
    found = rows(jira_outcomes({"issues": [jira_issue(assignee=assignee)]}))
    assert (found[0].identity.kind, found[0].identity.value) == ("email", "ana@acme.test")


def test_jira_bad_issues_are_rejected_with_their_index_and_the_rest_kept() -> None:
    page = {"issues": [jira_issue(0), jira_issue(1, resolutiondate="soon"), jira_issue(2, customfield_10016="XL"),
                       jira_issue(3, assignee={"displayName": "Ghost"}), "not an issue", jira_issue(4)]}
    items = list(jira_outcomes(page))
    found = rejections(items)
    assert [r.location for r in found] == ["issues[1]", "issues[2]", "issues[3]", "issues[4]"]
    assert "resolutiondate" in found[0].reason and "customfield_10016" in found[1].reason
    assert "accountId" in found[2].reason
    assert [r.key for r in rows(items)] == ["jira:PLAT-240", "jira:PLAT-244"]


@pytest.mark.parametrize("document", [[], {"errorMessages": ["JQL is bad"]}, {"issues": {}}])
def test_jira_document_without_an_issues_list_is_unusable(document: Any) -> None:
    with pytest.raises(FeedError, match="issues"):
        list(jira_outcomes(document))


# --- Linear ---------------------------------------------------------------------------------------

def test_linear_fixture_gives_completed_issues_on_the_assignee_with_estimates() -> None:
    nodes = LINEAR["data"]["issues"]["nodes"]
    found = rows(linear_outcomes(LINEAR))
    assert len(found) == len(nodes) == 15
    assert found[0].key == "linear:PRD-412" and found[0].identity.kind == "linear"
    assert found[0].identity.value == nodes[0]["assignee"]["id"]
    null_estimate = next(r for r in found if r.key == "linear:PRD-426")
    assert null_estimate.quantity == 1.0
    assert sum(r.quantity for r in found) == sum(n["estimate"] or 1 for n in nodes)


@pytest.mark.parametrize("state", ["canceled", "started", "duplicate", "backlog"])
def test_linear_only_completed_issues_count(state: str) -> None:
    issue = linear_issue(state={"id": "s", "name": state.title(), "type": state}, canceledAt="2026-11-10T00:00:00.000Z")
    assert list(linear_outcomes(linear_page(issue))) == [Record("data.issues.nodes[0]", ())]


def test_linear_falls_back_to_email_and_skips_unassigned() -> None:
    by_email = linear_issue(0, assignee={"email": "Dev@acme.test", "name": "Dev"})
    found = rows(linear_outcomes(linear_page(by_email, linear_issue(1, assignee=None))))
    assert [(r.key, r.identity.kind, r.identity.value) for r in found] == [("linear:PRD-412", "email", "dev@acme.test")]


def test_linear_bad_issues_are_rejected_with_their_path() -> None:
    page = linear_page(linear_issue(0, completedAt=None), linear_issue(1, estimate=-2), linear_issue(2),
                       linear_issue(3, assignee={"name": "nobody"}))
    found = rejections(linear_outcomes(page))
    assert [r.location for r in found] == ["data.issues.nodes[0]", "data.issues.nodes[1]", "data.issues.nodes[3]"]
    assert "completedAt" in found[0].reason and "estimate" in found[1].reason


@pytest.mark.parametrize("document", [{"errors": [{"message": "Authentication required"}]}, {"data": {}}, []])
def test_linear_response_without_issues_is_unusable(document: Any) -> None:
    with pytest.raises(FeedError):
        list(linear_outcomes(document))


# --- the outcomes CSV ------------------------------------------------------------------------------

def parse_csv(text: str) -> list[Record | Rejection]:
    return list(parse_outcomes_csv(iter(io.StringIO(text, newline=""))))


def test_the_documented_example_parses_into_the_outcomes_it_describes() -> None:
    found = rows(parse_csv(doc_example()))
    assert [(r.key, r.kind, r.identity.kind, r.identity.value, r.quantity) for r in found] == [
        ("csv:OPS-17", "ticket_closed", "email", "ana@acme.test", 3.0),
        ("csv:acme/infra#88", "pr_merged", "github", "cara-codes", 1.0),
        (found[2].key, "ticket_closed", "linear", "4407a9e7-5e53-4272-b5cc-750bb9b6ff12", 0.5),
    ]
    assert found[0].occurred_at == datetime(2026, 11, 17, tzinfo=UTC)
    assert found[2].occurred_at == datetime(2026, 11, 19, 15, tzinfo=UTC)
    assert found[2].key.startswith("csv:sha1:") and found[2].title == "Fix typo on pricing page"


def test_rows_without_ref_keep_their_key_across_files_and_differ_by_content() -> None:
    text = "email,date,kind\nana@acme.test,2026-11-17,ticket_closed\nana@acme.test,2026-11-18,ticket_closed\n"
    first, second = rows(parse_csv(text)), rows(parse_csv(text.replace("ana@", "ANA@")))
    assert [r.key for r in first] == [r.key for r in second]
    assert first[0].key != first[1].key


def test_bad_csv_rows_are_rejected_by_line_and_the_rest_kept() -> None:
    text = (
        "email,identity,date,kind,quantity\n"
        "ana@acme.test,,2026-11-17,ticket_closed,2\n"
        "ana@acme.test,,2026-11-17,deployed,1\n"
        ",,2026-11-17,pr_merged,\n"
        ",slack:U123,2026-11-17,pr_merged,\n"
        "ana@acme.test,,17/11/2026,pr_merged,\n"
        "ana@acme.test,,2026-11-17,ticket_closed,-1\n"
        "ana@acme.test,github:ana-acme,2026-11-17,pr_merged,\n"
        "ana@acme.test,,2026-11-17,pr_merged,1,surplus\n"
        "ben@acme.test,,2026-11-18,pr_merged,\n"
    )
    items = parse_csv(text)
    assert [(r.location, r.reason.split(":")[0]) for r in rejections(items)] == [
        ("line 3", "kind"), ("line 4", "identity"), ("line 5", "identity"), ("line 6", "date"),
        ("line 7", "quantity"), ("line 8", "give either email or identity, not both"),
        ("line 9", "6 fields, but the header has 5"),
    ]
    assert [r.identity.value for r in rows(items)] == ["ana@acme.test", "ben@acme.test"]


def test_csv_line_numbers_count_quoted_newlines() -> None:
    text = 'email,date,kind,title\nana@acme.test,2026-11-17,pr_merged,"two\nlines"\nana@acme.test,never,pr_merged,x\n'
    assert [r.location for r in rejections(parse_csv(text))] == ["line 4"]


@pytest.mark.parametrize("header", ["email,kind\n", "date,kind,quantity\n", ""])
def test_csv_without_the_required_columns_is_unusable(header: str) -> None:
    with pytest.raises(FeedError, match="header lacks"):
        parse_csv(header)


def test_csv_detection_claims_only_its_own_header() -> None:
    feed = FEEDS["outcomes_csv"]
    assert feed.sniff("\ufeffEmail,Date,Kind,Quantity\r\nana@acme.test,2026-11-17,pr_merged,1\r\n")
    assert feed.sniff("identity,date,kind\n")
    assert not feed.sniff("email,date,model,input_tokens,output_tokens,kind\n")
    assert not feed.sniff('{"issues": []}')


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.text(max_size=12), max_size=7), max_size=6))
def test_any_csv_rows_give_records_or_rejections_never_a_crash(cells: list[list[str]]) -> None:
    out = io.StringIO()
    import csv

    csv.writer(out).writerows([["email", "identity", "date", "kind", "quantity", "ref"], *cells])
    items = parse_csv(out.getvalue())
    assert all(isinstance(i, (Record, Rejection)) for i in items)
    assert all(r.location.startswith("line ") and r.reason for r in rejections(items))


# --- stored and reported --------------------------------------------------------------------------

def expected_tickets(config: OrgConfig) -> dict[tuple[str, str], tuple[int, float]]:
    """(email, week) -> (tickets, points), worked out from the raw fixture JSON and the config's aliases."""
    owner = {}
    for person in config.people:
        for kind in ("jira", "linear"):
            owner.update({(kind, value): person.email for value in person.aliases.get(kind, ())})
    counts: Counter[tuple[str, str]] = Counter()
    points: defaultdict[tuple[str, str], float] = defaultdict(float)
    for issue in JIRA["issues"]:
        fields = issue["fields"]
        when = datetime.strptime(fields["resolutiondate"], "%Y-%m-%dT%H:%M:%S.%f%z")
        slot = (owner[("jira", fields["assignee"]["accountId"])], str(Week.of(when)))
        counts[slot] += 1
        points[slot] += fields["customfield_10016"] or 1
    for node in LINEAR["data"]["issues"]["nodes"]:
        when = datetime.fromisoformat(node["completedAt"].replace("Z", "+00:00"))
        slot = (owner[("linear", node["assignee"]["id"])], str(Week.of(when)))
        counts[slot] += 1
        points[slot] += node["estimate"] if node["estimate"] is not None else 1
    return {slot: (counts[slot], points[slot]) for slot in counts}


def test_ingested_tickets_land_on_people_per_week_and_in_me(
    acme_engine: Engine, acme_config: OrgConfig, prices: PriceTable
) -> None:
    for name in ("jira_search.json", "linear_issues.json"):
        report = ingest_file(acme_engine, FIXTURES / name)
        assert (report.rejected, report.unusable, report.stored) == (0, False, report.records)
    expected = expected_tickets(acme_config)
    assert ("cara@acme.test", "2026-W46") in expected  # her Jira email is hidden: only accountId joins her

    stored: Counter[tuple[str, str]] = Counter()
    with session_scope(acme_engine) as session:
        query = (select(Person.email, Outcome.week).join(Identity, Identity.id == Outcome.identity_id)
                 .join(Person, Person.id == Identity.person_id).where(Outcome.kind == "ticket_closed"))
        stored.update((email, week) for email, week in session.execute(query))
        assert stored == {slot: n for slot, (n, _) in expected.items()}
        for email in sorted({p.email for p in acme_config.people}):
            for week in ("2026-W46", "2026-W47"):
                outcomes = me_report(session, acme_config, prices, email, Week.parse(week)).as_json()["outcomes"]
                tickets, points = expected.get((email, week), (0, 0.0))
                assert (outcomes["tickets_closed"], outcomes["ticket_points"]) == (tickets, points), (email, week)
