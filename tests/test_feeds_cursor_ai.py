"""Cursor AI Code Tracking: per-commit AI lines, linked to pull requests by commit SHA, and its pull."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.ingest.commit_ai import ai_share, pr_shas
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import ActivityRow, Record
from bot.ingest.files import ingest_paths
from bot.ingest.pull import pull
from storage import make_engine, upgrade
from storage.engine import session_scope
from tests.conftest import FIXTURES
from tests.contract import FeedCase, check_contract
from tests.fakes.vendor_server import Reply, VendorServer
from tests.pull_helpers import KEYS, NOW, day, settings_for, stored

COMMITS = FIXTURES / "cursor_ai_commits.json"
PULLS = json.loads((FIXTURES / "github_pulls.json").read_text())
PATH = "/analytics/ai-code/commits"

pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


def edit(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(text)
    change(document)
    return json.dumps(document)


def every_item(text: str) -> str:
    return edit(text, lambda d: [item.update(x_new={"a": 1}) for item in d["items"]])


CASE = FeedCase("cursor_ai_commits", COMMITS,
                corrupt=lambda t: edit(t, lambda d: d["items"][3].update(commitTs=None)),
                bad_location="items[3]", add_unknown_field=every_item,
                empty='{"items": [], "totalCount": 0, "page": 1, "pageSize": 100}')


def test_feed_contract(sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(CASE, sqlite_engine, tmp_path)


def test_each_commit_is_its_authors_activity_on_its_utc_day_keyed_by_sha() -> None:
    rows = [r for i in FEEDS["cursor_ai_commits"].parse(COMMITS) if isinstance(i, Record) for r in i.rows]
    first = json.loads(COMMITS.read_text())["items"][0]
    sha = first["commitHash"]
    mine = {r.metric: r.value for r in rows if isinstance(r, ActivityRow) and r.record_key.startswith(sha)}
    assert mine == {"ai_lines_tab": first["tabLinesAdded"], "ai_lines_composer": first["composerLinesAdded"],
                    "lines_non_ai": first["nonAiLinesAdded"]}
    fay = {r.identity.value for r in rows if r.identity.value.startswith("fay")}
    assert fay == {"fay.fischer@acme.test"}  # Cursor's own address for Fay: the directory's alias joins it


def pull_request(number: int) -> dict[str, Any]:
    return next(p for p in PULLS if p["number"] == number)


def test_a_pr_whose_commits_cursor_tracked_shows_its_ai_share(sqlite_engine: Engine) -> None:
    ingest_paths(sqlite_engine, [COMMITS])
    commits = json.loads((FIXTURES / "pull" / "github_pull_commits_1189.json").read_text())  # GET /pulls/1189/commits
    items = [i for i in json.loads(COMMITS.read_text())["items"] if i["commitHash"] in {c["sha"] for c in commits}]
    ai = sum(i["tabLinesAdded"] + i["composerLinesAdded"] for i in items)
    with session_scope(sqlite_engine) as session:
        share = ai_share(session, pr_shas(pull_request(1189), commits))
        only_merge_commit = ai_share(session, pr_shas(pull_request(1189)))
        untracked = ai_share(session, pr_shas(pull_request(1161)))
    assert share is not None and share.commits == 2 and len(items) == 2
    assert share.share == pytest.approx(ai / sum(i["totalLinesAdded"] for i in items))
    assert only_merge_commit is None and untracked is None  # none of its commits tracked: no share, not 0


def test_a_commit_listed_again_on_another_branch_counts_once(sqlite_engine: Engine, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    again.write_text(edit(COMMITS.read_text(), lambda d: d["items"].append({**d["items"][0], "branchName": "main"})))
    ingest_paths(sqlite_engine, [COMMITS, again])
    sha = json.loads(COMMITS.read_text())["items"][0]["commitHash"]
    with session_scope(sqlite_engine) as session:
        share = ai_share(session, [sha, sha.upper()])
    assert share is not None and share.commits == 1


def test_the_pull_pages_by_total_count_retries_resumes_and_stores_what_the_file_stores(
    server: VendorServer, engine: Engine, tmp_path: Path,
) -> None:
    document = json.loads(COMMITS.read_text())
    items = document["items"]
    page = {"totalCount": len(items), "pageSize": 7}
    server.route("GET", PATH, Reply(502), Reply(body={**page, "page": 1, "items": items[:7]}), match={"page": "1"})
    server.route("GET", PATH, Reply(body={**page, "page": 2, "items": items[7:]}), match={"page": "2"})
    settings = settings_for(server, **KEYS)
    [result] = pull(engine, settings, "cursor-ai-code", since=day("2026-11-09"), until=day("2026-11-23"),
                    sleep=lambda _: None, clock=lambda: NOW)
    assert (result.status, result.pages, result.records) == ("ok", 2, len(items)), result.error
    direct = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    upgrade(direct)
    ingest_paths(direct, [COMMITS])
    assert stored(engine) == stored(direct)
    direct.dispose()
    first = server.seen(PATH)[0]
    assert (first.param("startDate"), first.param("endDate")) == ("2026-11-09T00:00:00Z", "2026-11-23T00:00:00Z")
    assert first.headers["authorization"].startswith("Basic ")
    [resumed] = pull(engine, settings, "cursor-ai-code", sleep=lambda _: None, clock=lambda: NOW)
    assert (resumed.status, resumed.since) == ("ok", day("2026-11-20"))
    assert stored(engine)["Activity"] and not settings.cursor_ai_code_tracking  # daily only when switched on
