"""Pulls end to end: pages ingested as files would be, the PullRun ledger, resume windows, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config.settings import DOCUMENTED
from bot.ingest.files import ingest_paths
from bot.ingest.pull import pull, pull_all_configured
from bot.runtime import Runtime
from storage import make_engine, upgrade
from storage.models import PullRun, Usage, table
from tests.conftest import FIXTURES
from tests.fakes.vendor_server import Reply, VendorServer
from tests.pull_helpers import KEYS, NOW, Collected, day, github_pages, settings_for, stored

CLAUDE_CODE = FIXTURES / "claude_code_analytics"
CODE_PATH = "/v1/organizations/usage_report/claude_code"
EMPTY = {"data": [], "has_more": False, "next_page": None}


pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[Engine]:
    """A second database, for ingesting the same fixtures straight from files."""
    engine = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def serve_claude_code_days(server: VendorServer) -> None:
    """One response per fixture day; 2026-11-17 split into two pages by cursor."""
    server.route("GET", CODE_PATH, Reply(body=EMPTY))
    for path in sorted(CLAUDE_CODE.glob("*.json")):
        if path.stem != "2026-11-17":
            server.route("GET", CODE_PATH, Reply.file(path), match={"starting_at": path.stem})
    whole = json.loads((CLAUDE_CODE / "2026-11-17.json").read_text())
    half = len(whole["data"]) // 2
    server.route("GET", CODE_PATH, Reply(body={**whole, "data": whole["data"][:half], "has_more": True,
                                               "next_page": "page_2"}), match={"starting_at": "2026-11-17"})
    server.route("GET", CODE_PATH, Reply(body={**whole, "data": whole["data"][half:], "has_more": False,
                                               "next_page": None}),
                 match={"starting_at": "2026-11-17", "page": "page_2"})


def pull_quietly(engine: Engine, server: VendorServer, spec: str, since: str | None, until: str | None,
                 **options: Any) -> list[Any]:
    settings = settings_for(server, **KEYS)
    return pull(engine, settings, spec, since=day(since) if since else None, until=day(until) if until else None,
                sleep=lambda _: None, clock=lambda: NOW, **options)


def runs(engine: Engine) -> list[PullRun]:
    with engine.connect() as conn:
        return [PullRun(**row) for row in conn.execute(select(table(PullRun)).order_by("id")).mappings()]


def test_pulled_claude_code_days_store_what_the_files_store(
    engine: Engine, direct: Engine, server: VendorServer
) -> None:
    serve_claude_code_days(server)
    [result] = pull_quietly(engine, server, "anthropic:claude-code", "2026-11-09", "2026-11-23")
    days = len(list(CLAUDE_CODE.glob("*.json")))
    assert (result.status, result.pages) == ("ok", days + 1)
    assert len(server.seen(CODE_PATH)) == days + 1
    ingest_paths(direct, [CLAUDE_CODE])
    pulled = stored(engine)
    assert pulled["Usage"] and pulled["Activity"]
    assert pulled == stored(direct)

    again = pull_quietly(engine, server, "anthropic:claude-code", "2026-11-09", "2026-11-23")
    assert again[0].status == "ok" and stored(engine) == pulled
    reports = ingest_paths(engine, [CLAUDE_CODE])
    assert all(r.stored == 0 for r in reports) and stored(engine) == pulled


def test_pulled_github_pages_store_what_the_file_stores(engine: Engine, direct: Engine, server: VendorServer) -> None:
    pages = github_pages(server, "/repos/acme/app/pulls", 10)
    [result] = pull_quietly(engine, server, "github", "2026-11-01", "2026-11-23", repo="acme/app")
    assert (result.source, result.status, result.pages, result.records) == ("github:acme/app", "ok", len(pages), 35)
    ingest_paths(direct, [FIXTURES / "github_pulls.json"])
    pulled = stored(engine)
    assert len(pulled["Outcome"]) == 31
    assert pulled == stored(direct)
    pull_quietly(engine, server, "github", "2026-11-01", "2026-11-23", repo="acme/app")
    assert stored(engine) == pulled


def test_every_pull_leaves_one_ledger_row(sqlite_engine: Engine, server: VendorServer) -> None:
    serve_claude_code_days(server)
    [result] = pull_quietly(sqlite_engine, server, "anthropic:claude-code", "2026-11-16", "2026-11-18")
    [run] = runs(sqlite_engine)
    assert (run.source, run.since, run.until, run.status, run.pages, run.records, run.error) == (
        "claude_code", day("2026-11-16"), day("2026-11-18"), "ok", 3, result.records, None)
    assert run.records == sum(len(json.loads((CLAUDE_CODE / f"{d}.json").read_text())["data"])
                              for d in ("2026-11-16", "2026-11-17"))
    assert run.started_at is not None and run.finished_at is not None


def test_an_outage_fails_the_pull_with_a_clear_error_and_no_secret(sqlite_engine: Engine, server: VendorServer) -> None:
    server.route("GET", CODE_PATH, Reply(500, {"error": {"message": "overloaded"}}))
    server.route("GET", CODE_PATH, Reply.file(CLAUDE_CODE / "2026-11-16.json"), match={"starting_at": "2026-11-16"})
    [result] = pull_quietly(sqlite_engine, server, "anthropic:claude-code", "2026-11-16", "2026-11-18")
    [run] = runs(sqlite_engine)
    assert (result.status, run.status, run.pages) == ("failed", "failed", 1)
    assert run.error == result.error and "claude_code: gave up after 6 attempts (HTTP 500)" in (run.error or "")
    assert KEYS["anthropic_admin_key"] not in (run.error or "")
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(table(Usage))).first() is not None  # the good day was kept


def test_resume_from_the_last_good_pull_minus_the_re_pull_window(sqlite_engine: Engine, server: VendorServer) -> None:
    server.route("GET", CODE_PATH, Reply(body=EMPTY))
    [first] = pull_quietly(sqlite_engine, server, "anthropic:claude-code", None, "2026-11-10", sink=Collected())
    assert (first.since, first.until) == (day("2026-10-11"), day("2026-11-10"))  # no run yet: 30 days back
    pull_quietly(sqlite_engine, server, "anthropic:claude-code", "2026-11-01", "2026-11-20", sink=Collected())
    pull_quietly(sqlite_engine, server, "anthropic:claude-code", "2026-09-01", "2026-09-05")  # a backfill
    server.route("GET", CODE_PATH, Reply(503), match={"starting_at": "2026-11-17"})
    [failed] = pull_quietly(sqlite_engine, server, "anthropic:claude-code", None, None, sink=Collected())
    assert (failed.status, failed.since, failed.until) == ("failed", day("2026-11-17"), day("2026-11-23"))
    [retried] = pull_quietly(sqlite_engine, server, "anthropic:claude-code", None, "2026-11-18", sink=Collected())
    assert (retried.since, retried.until) == (day("2026-11-17"), day("2026-11-18"))  # a failed run is no resume point


def test_copilot_re_pulls_28_days_and_each_repository_resumes_on_its_own(
    sqlite_engine: Engine, server: VendorServer
) -> None:
    server.route("GET", "/orgs/acme/copilot/billing/seats", Reply(body={"total_seats": 0, "seats": []}))
    pull_quietly(sqlite_engine, server, "github-copilot:seats", "2026-11-01", "2026-11-20", sink=Collected())
    [again] = pull_quietly(sqlite_engine, server, "github-copilot:seats", None, None, sink=Collected())
    assert (again.since, again.until) == (day("2026-10-23"), day("2026-11-23"))
    server.route("GET", "/repos/acme/app/pulls", Reply(body=[]))
    server.route("GET", "/repos/acme/web/pulls", Reply(body=[]))
    pull_quietly(sqlite_engine, server, "github", "2026-11-10", "2026-11-20", repo="acme/app", sink=Collected())
    [app] = pull_quietly(sqlite_engine, server, "github", None, None, repo="acme/app", sink=Collected())
    [web] = pull_quietly(sqlite_engine, server, "github", None, None, repo="acme/web", sink=Collected())
    assert (app.since, web.since) == (day("2026-11-17"), day("2026-10-24"))


def test_pull_all_configured_pulls_only_vendors_whose_keys_are_set(tmp_path: Path, server: VendorServer) -> None:
    for path in ("/v1/organizations/usage_report/messages", "/v1/organizations/cost_report", CODE_PATH):
        server.route("GET", path, Reply(body=EMPTY))
    server.route("GET", "/repos/acme/app/pulls", Reply(body=[]))
    settings = settings_for(server, anthropic_admin_key="sk-ant-admin01-x", github_token="ghp_x",
                            github_repos="acme/app", litellm_api_url=None)
    runtime = Runtime.from_settings(settings, db=f"sqlite:///{tmp_path / 'daily.db'}")
    results = pull_all_configured(runtime, sleep=lambda _: None, clock=lambda: NOW, sink=Collected())
    assert [(r.source, r.status) for r in results] == [
        ("anthropic_usage", "ok"), ("anthropic_cost", "ok"), ("claude_code", "ok"), ("github:acme/app", "ok")]
    assert {r.path for r in server.seen()} == {"/v1/organizations/usage_report/messages",
                                               "/v1/organizations/cost_report", CODE_PATH, "/repos/acme/app/pulls"}
    assert len(runs(runtime.engine)) == 4


def tokenworth(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = shutil.which("tokenworth", path=str(Path(sys.executable).parent))
    assert script, "the tokenworth console script is not installed next to this Python"
    clean = {k: v for k, v in os.environ.items() if k not in DOCUMENTED}
    return subprocess.run([script, *args], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def test_cli_pull_exits_0_when_pulled_and_2_when_the_vendor_is_down(tmp_path: Path, server: VendorServer) -> None:
    serve_claude_code_days(server)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-cli-secret", "ANTHROPIC_API_URL": server.url}
    good = tokenworth("pull", "anthropic:claude-code", "--since", "2026-11-16", "--until", "2026-11-18", "--db", db,
                      cwd=tmp_path, env=env)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("claude_code 2026-11-16..2026-11-18: ok, 3 pages,")

    server.route("GET", CODE_PATH, Reply(503, {"error": {"message": "overloaded"}}, {"Retry-After": "0"}),
                 match={"starting_at": "2026-11-16"})
    down = tokenworth("pull", "anthropic:claude-code", "--since", "2026-11-16", "--until", "2026-11-18", "--db", db,
                      "--json", cwd=tmp_path, env=env)
    assert down.returncode == 2
    assert "gave up after 6 attempts" in down.stderr and "sk-ant-admin01-cli-secret" not in down.stderr + down.stdout
    assert json.loads(down.stdout)["pulls"][0]["status"] == "failed"
    assert [r.status for r in runs(make_engine(db))] == ["ok", "failed"]


def test_cli_pull_without_the_key_names_the_variable(tmp_path: Path) -> None:
    result = tokenworth("pull", "openai", "--db", f"sqlite:///{tmp_path / 'cli.db'}", cwd=tmp_path, env={})
    assert result.returncode == 2
    assert "OPENAI_ADMIN_KEY is not set" in result.stderr


def test_stored_snapshot_compares_values_not_row_ids(direct: Engine) -> None:
    ingest_paths(direct, [CLAUDE_CODE / "2026-11-17.json"])
    snapshot = stored(direct)
    assert all(isinstance(dict(row)["identity_id"], tuple) for row in snapshot["Usage"])
    assert date(2026, 11, 17) in {dict(row)["day"] for row in snapshot["Usage"]}
