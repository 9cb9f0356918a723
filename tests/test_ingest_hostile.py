"""Hostile and unlucky input at ingest (issue 14): a bad number, an infinite one, a date far out of reason
or a bug in a parser costs its record at most, never the file, the next files or the per-file report."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import BaseFeed, IdentityRef, Record, Rejection, UsageRow
from bot.ingest.files import FileReport, ingest_file, ingest_paths
from storage.ledger import key_count
from storage.models import Identity, IngestRun, Outcome, RejectedRecord, Usage, table
from tests.conftest import FIXTURES

LITELLM = FIXTURES / "litellm_spend_logs.json"
CLAUDE_CODE = FIXTURES / "claude_code_analytics" / "2026-11-17.json"
JIRA = FIXTURES / "jira_search.json"
LINEAR = FIXTURES / "linear_issues.json"
PULLS = FIXTURES / "github_pulls.json"
TOO_BIG = 2**63  # one past the largest token count a BIGINT column holds


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))  # NaN and Infinity as Python's json writes them
    return path


def litellm_lines(path: Path, changes: dict[int, dict[str, Any]]) -> Path:
    rows = [{**row, "metadata": {}} for row in load(LITELLM)["data"][:5]]  # no cached tokens: prompt = input
    for index, change in changes.items():
        rows[index].update(change)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def claude_code(path: Path, index: int, change: Any) -> Path:
    page = load(CLAUDE_CODE)
    change(page["data"][index])
    return write(path, page)


def jira(path: Path, index: int, **fields: Any) -> Path:
    page = load(JIRA)
    page["issues"][index]["fields"].update(fields)
    return write(path, page)


def linear(path: Path, index: int, **fields: Any) -> Path:
    page = load(LINEAR)
    page["data"]["issues"]["nodes"][index].update(fields)
    return write(path, page)


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(model))).scalar_one())


def key_count_of(engine: Engine) -> int:
    with engine.connect() as conn:
        return key_count(conn)


def usage_of(engine: Engine, source: str) -> tuple[int, int]:
    """(rows, requests) a source has in the usage table."""
    usage = table(Usage)
    query = select(func.count(), func.coalesce(func.sum(usage.c.requests), 0)).where(usage.c.source == source)
    with engine.connect() as conn:
        rows, requests = conn.execute(query).one()
    return int(rows), int(requests)


def tokens(change: dict[str, Any]) -> Any:
    return lambda record: record["model_breakdown"][0]["tokens"].update(change)


def only_rejection(report: FileReport) -> dict[str, str]:
    assert (report.rejected, report.unusable) == (1, False), report.errors
    (error,) = report.errors
    return error


# --- numbers: out of range, NaN and infinity ------------------------------------------------------------------------

def test_an_out_of_range_number_costs_its_record_not_the_file_or_the_files_after_it(
    engine: Engine, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    litellm_lines(feeds / "1-spend.jsonl", {1: {"prompt_tokens": TOO_BIG}})
    claude_code(feeds / "2-claude.json", 2, tokens({"input": 2**70}))
    jira(feeds / "3-jira.json", 3, customfield_10016=float("nan"))
    shutil.copy(PULLS, feeds / "4-pulls.json")

    reports = ingest_paths(engine, [feeds])

    assert [r.source for r in reports] == ["litellm", "claude_code", "jira", "github"]
    spend, claude, tickets, pulls = reports
    assert only_rejection(spend)["where"] == f"{feeds / '1-spend.jsonl'}: line 2"
    assert "input_tokens" in spend.errors[0]["reason"] and str(TOO_BIG) in spend.errors[0]["reason"]
    assert (spend.records, spend.stored) == (5, 4)
    assert only_rejection(claude)["where"].endswith("2-claude.json: data[2]")
    assert "out of range" in claude.errors[0]["reason"] and (claude.records, claude.stored) == (6, 5)
    assert only_rejection(tickets)["where"].endswith("3-jira.json: issues[3]")
    assert "quantity" in tickets.errors[0]["reason"] and "finite" in tickets.errors[0]["reason"]
    assert (tickets.records, tickets.stored) == (13, 12)
    assert (pulls.rejected, pulls.stored) == (0, 31)
    models = [len(record["model_breakdown"]) for record in load(CLAUDE_CODE)["data"]]
    # the 4 requests are folded into rollups (their keys in the dedup ledger); Claude Code rows are daily buckets
    assert key_count_of(engine) == 4 and usage_of(engine, "litellm")[1] == 4
    claude_rows = count(engine, Usage) - usage_of(engine, "litellm")[0]
    assert claude_rows == sum(models) - models[2] and count(engine, Outcome) == 12 + 31
    with engine.connect() as conn:
        rejected = conn.execute(select(table(RejectedRecord).c.location)).scalars().all()
    assert len(rejected) == 3


@pytest.mark.parametrize("case", ["claude_code cost", "jira points", "linear estimate"])
def test_infinity_is_rejected_in_every_feed(case: str, engine: Engine, tmp_path: Path) -> None:
    if case == "claude_code cost":
        text = json.dumps(load(CLAUDE_CODE)).replace('"amount": 1033.42', '"amount": 1e999', 1)
        assert "1e999" in text
        path, where = tmp_path / "claude.json", "data[0]"
        path.write_text(text)
    elif case == "jira points":
        path, where = tmp_path / "jira.json", "issues[1]"
        path.write_text(json.dumps(load(JIRA)).replace('"customfield_10016": 1.0', '"customfield_10016": 1e999', 1))
    else:
        path, where = linear(tmp_path / "linear.json", 2, estimate=float("inf")), "data.issues.nodes[2]"
    report = ingest_file(engine, path)
    error = only_rejection(report)
    assert error["where"] == f"{path}: {where}" and "finite" in error["reason"]
    assert report.stored == report.records - 1


# --- dates far outside reason ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z", "1999-12-31T00:00:00Z", "future"])
def test_a_date_outside_the_window_is_rejected_with_where_and_why(when: str, engine: Engine, tmp_path: Path) -> None:
    if when == "future":
        when = f"{datetime.now(UTC).date() + timedelta(days=400)}T00:00:00Z"
    files = [
        claude_code(tmp_path / "claude.json", 1, lambda record: record.update(date=when)),
        litellm_lines(tmp_path / "spend.jsonl", {3: {"startTime": when}}),
        jira(tmp_path / "jira.json", 0, resolutiondate=when),
        linear(tmp_path / "linear.json", 4, completedAt=when),
    ]
    reports = [ingest_file(engine, path) for path in files]
    wheres = [only_rejection(report)["where"] for report in reports]
    assert wheres == [f"{files[0]}: data[1]", f"{files[1]}: line 4", f"{files[2]}: issues[0]",
                      f"{files[3]}: data.issues.nodes[4]"]
    assert all("2000-01-01" in r.errors[0]["reason"] for r in reports), [r.errors for r in reports]
    assert all(r.stored == r.records - 1 for r in reports)


# --- an unexpected error inside one file ----------------------------------------------------------------------------

GOOD = UsageRow(source="hostile", record_key="a", identity=IdentityRef.of("email", "ana@acme.test"),
                day=date(2026, 11, 17), provider="anthropic", tool="t", model="m", input_tokens=1)


class _Exploding(BaseFeed):
    """A feed with a bug: it parses one good record, then fails on the next."""

    name = "exploding"

    def sniff(self, head: str) -> bool:
        return '"explode"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield Record("line 1", (GOOD,))
        raise ZeroDivisionError("division by zero")


class _Unwritable(BaseFeed):
    """A feed with a bug only the database catches: a row without a provider (NOT NULL)."""

    name = "unwritable"

    def sniff(self, head: str) -> bool:
        return '"unwritable"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield Record("line 1", (GOOD,))
        bad = UsageRow(**{**vars(GOOD), "record_key": "b", "provider": None})  # type: ignore[arg-type]
        yield Record("line 2", (bad,))


@pytest.fixture
def buggy_feeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(FEEDS, "exploding", _Exploding())
    monkeypatch.setitem(FEEDS, "unwritable", _Unwritable())


@pytest.mark.usefixtures("buggy_feeds")
def test_a_parser_that_fails_midway_keeps_what_it_read_and_the_walk_goes_on(engine: Engine, tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "1-explode.json").write_text('{"explode": true}')
    shutil.copy(PULLS, feeds / "2-pulls.json")
    first, pulls = ingest_paths(engine, [feeds])
    assert (first.source, first.stored, first.rejected, first.unusable) == ("exploding", 1, 1, False)
    assert first.errors[0]["where"] == f"{feeds / '1-explode.json'}: after line 1"
    assert "ZeroDivisionError: division by zero" in first.errors[0]["reason"]
    assert "the rest of the file was not read" in first.errors[0]["reason"]
    assert (pulls.source, pulls.stored) == ("github", 31)
    assert count(engine, Usage) == 1


@pytest.mark.usefixtures("buggy_feeds")
def test_a_write_the_database_refuses_makes_the_file_unusable_and_the_walk_goes_on(
    engine: Engine, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "1-unwritable.json").write_text('{"unwritable": true}')
    shutil.copy(PULLS, feeds / "2-pulls.json")
    broken, pulls = ingest_paths(engine, [feeds])
    assert (broken.source, broken.unusable, broken.stored) == ("unwritable", True, 0)
    assert broken.errors[0]["where"] == str(feeds / "1-unwritable.json")
    assert "IntegrityError" in broken.errors[0]["reason"] and "nothing of it was stored" in broken.errors[0]["reason"]
    assert (pulls.source, pulls.stored) == ("github", 31)
    assert count(engine, Usage) == 0  # the file is one transaction: its good line went with it
    with engine.connect() as conn:
        runs = conn.execute(select(table(IngestRun).c.path, table(IngestRun).c.rejected)).all()
    assert sorted(runs) == [(str(feeds / "1-unwritable.json"), 1), (str(feeds / "2-pulls.json"), 0)]


def test_the_command_reports_every_file_and_exits_1_when_a_number_is_out_of_range(tmp_path: Path) -> None:
    from tests.test_cli import tokenworth

    feeds = tmp_path / "feeds"
    feeds.mkdir()
    litellm_lines(feeds / "1-spend.jsonl", {1: {"prompt_tokens": TOO_BIG}})
    shutil.copy(PULLS, feeds / "2-pulls.json")
    result = tokenworth("ingest", str(feeds), "--db", f"sqlite:///{tmp_path / 'tw.db'}", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    assert f"{feeds / '1-spend.jsonl'}: litellm: 5 read, 4 stored" in result.stdout
    assert f"{feeds / '2-pulls.json'}: github: 35 read, 31 stored" in result.stdout
    assert f"rejected {feeds / '1-spend.jsonl'}: line 2: input_tokens" in result.stderr


def test_identities_of_a_rejected_record_are_not_created(engine: Engine, tmp_path: Path) -> None:
    path = claude_code(tmp_path / "claude.json", 0, tokens({"output": TOO_BIG}))
    assert only_rejection(ingest_file(engine, path))["where"].endswith("data[0]")
    actors = [record["actor"] for record in load(CLAUDE_CODE)["data"]]
    others = {actor.get("email_address") or actor.get("api_key_name") for actor in actors[1:]}
    assert actors[0]["email_address"] == "ana@acme.test" not in others
    with engine.connect() as conn:
        assert set(conn.execute(select(table(Identity).c.value)).scalars()) == others


# --- what the fuzz test (tests/test_fuzz_feeds.py) found, each kept as a case of its own ------------------------------

def _cursor_event_in_year_3e9(path: Path) -> tuple[Path, str]:
    page = load(FIXTURES / "cursor_usage_events.json")
    page["usageEvents"][2]["timestamp"] = "100000000000000000000"  # datetime.fromtimestamp: OSError
    return write(path / "events.json", page), "usageEvents[2]"


def _otel_point_that_is_null(path: Path) -> tuple[Path, str]:
    document = load(FIXTURES / "claude_code_otlp_metrics.json")
    document["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][1]["sum"]["dataPoints"][0] = None
    target = path / "otel.json"
    target.write_text(json.dumps(document, indent=1))
    return target, "resourceMetrics[0].scopeMetrics[0].metrics[1].sum.dataPoints[0]"


def _outcomes_row_not_utf8(path: Path) -> tuple[Path, str]:
    target = path / "outcomes.csv"
    target.write_bytes(b"email,date,kind\nana@acme.test,2026-11-17,pr_merged\nb\xffn@acme.test,2026-11-17,pr_merged\n"
                       b"eli@acme.test,2026-11-18,ticket_closed\n")
    return target, "line 3"


def _seat_active_in_9999(path: Path) -> tuple[Path, str]:
    document = load(FIXTURES / "copilot_billing_seats.json")
    document["seats"][1]["last_activity_at"] = "9999-12-31T23:00:00-05:00"  # to_utc: OverflowError
    return write(path / "seats.json", document), "seats[1]"


def _jira_resolved_in_year_1(path: Path) -> tuple[Path, str]:
    return jira(path / "jira.json", 2, resolutiondate="0001-01-01T00:00:00.000+0500"), "issues[2]"


def _litellm_line_with_a_5000_digit_number(path: Path) -> tuple[Path, str]:
    target = litellm_lines(path / "spend.jsonl", {})
    lines = target.read_text().splitlines()
    lines[1] = lines[1].replace('"completion_tokens": ', '"completion_tokens": ' + "9" * 5000 + ", \"x\": ", 1)
    target.write_text("\n".join(lines) + "\n")
    return target, "line 2"


@pytest.mark.parametrize("case", [_cursor_event_in_year_3e9, _otel_point_that_is_null, _outcomes_row_not_utf8,
                                  _seat_active_in_9999, _jira_resolved_in_year_1,
                                  _litellm_line_with_a_5000_digit_number])
def test_found_by_fuzzing_one_record_costs_only_itself(case: Any, sqlite_engine: Engine, tmp_path: Path) -> None:
    path, where = case(tmp_path)
    report = ingest_file(sqlite_engine, path)
    assert only_rejection(report)["where"] == f"{path}: {where}"
    assert report.stored + report.skipped + report.duplicates == report.records - 1 > 0
