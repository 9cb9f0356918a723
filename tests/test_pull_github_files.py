"""A merged PR's files: pulled from GET /pulls/{n}/files page by page, retried, resumed, and stored where nothing
without files can erase them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.core.judgement_facts import WorkItem
from bot.ingest.feeds.base import Record, Rejection, WorkRow
from bot.ingest.feeds.github_pulls import FILES_SOURCE, parse_pulls
from bot.ingest.files import ingest_file
from bot.ingest.pull import PullResult, pull
from bot.ingest.webhooks import handle_github_webhook, signature_of
from bot.reads.work import work_items
from storage.engine import session_scope
from storage.models import WorkDetail, table
from tests.conftest import FIXTURES
from tests.fakes.vendor_server import Reply, VendorServer, route_linked_pages
from tests.pull_helpers import KEYS, NOW, Collected, day, github_pages, settings_for

PULLS = "/repos/acme/app/pulls"
BIG = f"{PULLS}/1168/files"  # Ben's +6812/-2210 rewrite: 57 files on two pages
FIX = f"{PULLS}/1195/files"
PAGES = [json.loads((FIXTURES / name).read_text()) for name in ("github_pull_files.json",
                                                                "github_pull_files.page2.json")]
FIX_FILES = json.loads((FIXTURES / "sample_org" / "pull_files" / "1195.json").read_text())
ALL_TIME = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


@pytest.fixture
def server() -> Iterator[VendorServer]:
    with VendorServer() as running:
        github_pages(running, PULLS, 100)
        yield running


def run(server: VendorServer, engine: Engine, since: str | None, waits: list[float] | None = None,
        sink: Collected | None = None) -> PullResult:
    settings = settings_for(server, **KEYS)
    [result] = pull(engine, settings, "github", since=day(since) if since else None, until=day("2026-11-23"),
                    repo="acme/app", sleep=(waits if waits is not None else []).append, clock=lambda: NOW,
                    **({"sink": sink} if sink else {}))
    return result


def items(engine: Engine) -> dict[str, WorkItem]:
    with session_scope(engine) as session:
        return {item.key: item for item in work_items(session, *ALL_TIME)}


def test_a_merged_prs_files_are_pulled_page_by_page_and_give_its_lines(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    route_linked_pages(server, BIG, PAGES, per_page="100")
    result = run(server, sqlite_engine, "2026-11-01")
    assert result.ok, result.error
    asked = [(r.param("per_page"), r.param("page")) for r in server.seen(BIG)]
    assert asked == [("100", None), ("100", "2")]
    big = items(sqlite_engine)["github:acme/app#1168:merged"]
    assert len(big.files) == 58  # 57 files; the renamed one under both names
    assert {"internal/billing/sync/schedule.go", "internal/billing/sync/cron.go"} <= set(big.files)
    assert (big.additions, big.deletions) == (6812, 2210)  # the list page has no line counts: summed over files
    # the other PRs' files were asked for and not found: stored without them, the pull still ok
    assert items(sqlite_engine)["github:acme/app#1190:merged"].files == ()


def test_only_merged_prs_by_people_inside_the_window_are_asked_for_their_files(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    sink = Collected()
    run(server, sqlite_engine, "2026-11-19", sink=sink)
    asked = sorted(int(r.path.split("/")[-2]) for r in server.seen() if r.path.endswith("/files"))
    pulls = json.loads((FIXTURES / "github_pulls.json").read_text())
    expected = sorted(p["number"] for p in pulls if p["merged_at"] and p["updated_at"] >= "2026-11-19"
                      and p["user"]["type"] != "Bot" and not p["user"]["login"].endswith("[bot]"))
    assert asked == expected and 1186 not in asked  # Copilot's PR: a bot's
    assert 1194 not in asked  # closed without a merge


def test_files_requests_are_retried_as_the_vendor_asks(server: VendorServer, sqlite_engine: Engine) -> None:
    server.route("GET", FIX, Reply(500), Reply(429, {"message": "slow down"}, headers={"Retry-After": "7"}),
                 Reply(body=FIX_FILES))
    waits: list[float] = []
    result = run(server, sqlite_engine, "2026-11-19", waits)
    assert result.ok and waits == [1.0, 7.0]
    assert items(sqlite_engine)["github:acme/app#1195:merged"].files == (
        "internal/tenant/cache_warmup.go", "internal/tenant/cache_warmup_test.go")


def test_a_files_outage_fails_the_pull_and_the_next_pull_resumes_and_fills_them_in(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    route_linked_pages(server, BIG, PAGES, per_page="100")
    assert run(server, sqlite_engine, "2026-11-10").ok
    server.route("GET", FIX, Reply(503, {"message": "unavailable"}))
    failed = run(server, sqlite_engine, None)
    assert (failed.status, failed.since) == ("failed", day("2026-11-20"))  # the last good pull's end minus 3 days
    assert FIX in (failed.error or "") and KEYS["github_token"] not in (failed.error or "")
    assert items(sqlite_engine)["github:acme/app#1195:merged"].files == ()  # the PR itself was stored
    server.route("GET", FIX, Reply(body=FIX_FILES))
    healed = run(server, sqlite_engine, None)
    assert (healed.status, healed.since) == ("ok", day("2026-11-20"))  # a failed pull is no resume point
    assert len(items(sqlite_engine)["github:acme/app#1195:merged"].files) == 2
    assert len(items(sqlite_engine)["github:acme/app#1168:merged"].files) == 58  # kept from the first pull


def with_files(pull_request: dict[str, Any], files: list[Any]) -> dict[str, Any]:
    return {**pull_request, "files": files}


def test_files_are_never_erased_by_a_list_page_a_single_pr_or_a_webhook(
    engine: Engine, tmp_path: Path
) -> None:
    listed = {p["number"]: p for p in json.loads((FIXTURES / "github_pulls.json").read_text())}
    enriched = tmp_path / "pull-1195-files.json"
    enriched.write_text(json.dumps(with_files(listed[1195], FIX_FILES)))
    assert ingest_file(engine, enriched).stored == 1
    for later in ("github_pulls.json", "github_pull_detail.json"):
        ingest_file(engine, FIXTURES / later)
    body = (FIXTURES / "github_webhook_pull_request_merged.json").read_bytes()
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-9",
               "X-Hub-Signature-256": signature_of(b"s", body)}
    assert handle_github_webhook(engine, b"s", headers, body, now=NOW).status == 200
    fix = items(engine)["github:acme/app#1195:merged"]
    assert fix.files == ("internal/tenant/cache_warmup.go", "internal/tenant/cache_warmup_test.go")
    assert (fix.additions, fix.deletions) == (52, 18)
    with session_scope(engine) as session:
        sources = session.execute(select(table(WorkDetail).c.source).where(
            table(WorkDetail).c.key == "github:acme/app#1195:merged").order_by("source")).scalars().all()
    assert sources == ["github", FILES_SOURCE]


def test_a_bad_file_rejects_its_pr_with_the_place_and_3000_files_leave_the_lines_unknown() -> None:
    listed = json.loads((FIXTURES / "github_pulls.json").read_text())
    fix = next(p for p in listed if p["number"] == 1195)
    bad = with_files(fix, [*FIX_FILES, {"filename": "x.go", "additions": -1}])
    [rejected] = list(parse_pulls(bad))
    assert isinstance(rejected, Rejection) and rejected.location == "(pull request)"
    assert "files.2.additions" in rejected.reason
    many = [{"filename": f"gen/{i}.go", "status": "added", "additions": 1, "deletions": 0} for i in range(3000)]
    [record] = list(parse_pulls(with_files(fix, many)))
    assert isinstance(record, Record)
    [files] = [r for r in record.rows if isinstance(r, WorkRow) and r.source == FILES_SOURCE]
    assert len(json.loads(files.files)) == 3000 and (files.additions, files.deletions) == (None, None)
    reverted = next(p for p in listed if p["number"] == 1175)  # a revert's files are not needed
    [record] = list(parse_pulls(with_files(reverted, FIX_FILES)))
    assert isinstance(record, Record) and all(getattr(r, "source", "") != FILES_SOURCE for r in record.rows)
