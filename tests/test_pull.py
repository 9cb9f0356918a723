"""Every puller against a local fake vendor: the right requests, every page, in the vendor's own bytes."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.errors import SettingsError, UsageError
from bot.ingest.pull import PullResult, pull
from bot.ingest.pull.base import midnight
from tests.fakes.vendor_server import Reply, VendorServer
from tests.pull_helpers import (
    KEYS,
    NOW,
    PULL_FIXTURES,
    Collected,
    day,
    fixture_json,
    github_pages,
    settings_for,
)

pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


def run(server: VendorServer, engine: Engine, spec: str, since: str, until: str, sink: Collected,
        **options: Any) -> list[PullResult]:
    settings = settings_for(server, **KEYS)
    return pull(engine, settings, spec, since=day(since), until=day(until), sleep=lambda _: None,
                clock=lambda: NOW, sink=sink, **options)


def page_of(document: dict[str, Any], items: list[Any], **fields: Any) -> dict[str, Any]:
    return {**document, "data": items, **fields}


def test_anthropic_usage_follows_next_page_while_has_more(server: VendorServer, sqlite_engine: Engine) -> None:
    path = "/v1/organizations/usage_report/messages"
    server.route("GET", path, Reply.file(PULL_FIXTURES / "anthropic_usage_report.json"),
                 Reply.file(PULL_FIXTURES / "anthropic_usage_report.page2.json"))
    sink = Collected()
    [result] = run(server, sqlite_engine, "anthropic:usage", "2026-11-09", "2026-11-23", sink)
    assert (result.source, result.status, result.pages, result.records) == ("anthropic_usage", "ok", 2, 14)
    assert [c for _, _, c in sink.pages] == [(PULL_FIXTURES / "anthropic_usage_report.json").read_bytes(),
                                             (PULL_FIXTURES / "anthropic_usage_report.page2.json").read_bytes()]
    first, second = server.seen(path)
    assert first.query["group_by[]"] == ["account_id", "api_key_id", "workspace_id", "model"]
    assert (first.param("starting_at"), first.param("ending_at")) == ("2026-11-09T00:00:00Z", "2026-11-23T00:00:00Z")
    assert (first.param("bucket_width"), first.param("limit"), first.param("page")) == ("1d", "31", None)
    assert second.param("page") == fixture_json("anthropic_usage_report.json")["next_page"]
    assert first.headers["x-api-key"] == KEYS["anthropic_admin_key"]
    assert first.headers["anthropic-version"] == "2023-06-01"


def test_anthropic_pulls_every_sub_feed_and_claude_code_one_day_at_a_time(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    empty = {"data": [], "has_more": False, "next_page": None}
    server.route("GET", "/v1/organizations/usage_report/messages", Reply(body=empty))
    server.route("GET", "/v1/organizations/cost_report", Reply.file(PULL_FIXTURES / "anthropic_cost_report.json"))
    code = "/v1/organizations/usage_report/claude_code"
    server.route("GET", code, Reply(body=empty))
    server.route("GET", code, Reply(body={"data": [{"n": 1}], "has_more": True, "next_page": "cur_2"}),
                 Reply(body={"data": [{"n": 2}], "has_more": False, "next_page": None}),
                 match={"starting_at": "2026-11-17"})
    sink = Collected()
    results = run(server, sqlite_engine, "anthropic", "2026-11-16", "2026-11-19", sink)
    assert [(r.source, r.pages) for r in results] == [("anthropic_usage", 1), ("anthropic_cost", 1), ("claude_code", 4)]
    cost = server.seen("/v1/organizations/cost_report")[0]
    assert cost.query["group_by[]"] == ["description", "workspace_id"]
    assert [(r.param("starting_at"), r.param("page"), r.param("limit")) for r in server.seen(code)] == [
        ("2026-11-16", None, "1000"), ("2026-11-17", None, "1000"), ("2026-11-17", "cur_2", "1000"),
        ("2026-11-18", None, "1000")]
    assert [b["data"] for b in sink.bodies("claude_code")] == [[], [{"n": 1}], [{"n": 2}], []]


def test_openai_usage_and_costs_page_by_cursor_with_unix_times(server: VendorServer, sqlite_engine: Engine) -> None:
    usage = fixture_json("openai_usage_completions.json")
    server.route("GET", "/v1/organization/usage/completions",
                 Reply(body=page_of(usage, usage["data"][:7], has_more=True, next_page="page_w47")),
                 Reply(body=page_of(usage, usage["data"][7:], has_more=False, next_page=None)))
    server.route("GET", "/v1/organization/costs", Reply.file(PULL_FIXTURES / "openai_costs.json"))
    sink = Collected()
    results = run(server, sqlite_engine, "openai", "2026-11-09", "2026-11-23", sink)
    assert [(r.source, r.pages, r.records) for r in results] == [("openai_usage", 2, 14), ("openai_costs", 1, 14)]
    first, second = server.seen("/v1/organization/usage/completions")
    start, end = int(midnight(day("2026-11-09")).timestamp()), int(midnight(day("2026-11-23")).timestamp())
    assert (first.param("start_time"), first.param("end_time")) == (str(start), str(end))
    assert first.query["group_by[]"] == ["project_id", "user_id", "api_key_id", "model"]
    assert (first.param("limit"), second.param("page")) == ("31", "page_w47")
    assert first.headers["authorization"] == f"Bearer {KEYS['openai_admin_key']}"
    costs = server.seen("/v1/organization/costs")[0]
    assert (costs.param("limit"), costs.query["group_by[]"]) == ("180", ["line_item", "project_id"])


def ms(text: str) -> int:
    return int(midnight(day(text)).timestamp() * 1000)


def test_cursor_pages_by_has_next_page_in_ranges_of_at_most_30_days(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    daily = fixture_json("cursor_daily_usage.json")
    more = {**daily["pagination"], "hasNextPage": True}
    server.route("POST", "/teams/daily-usage-data",
                 Reply(body={**daily, "data": daily["data"][:30], "pagination": more}),
                 Reply(body={**daily, "data": daily["data"][30:]}), Reply(body={**daily, "data": []}))
    server.route("POST", "/teams/filtered-usage-events", Reply.file(PULL_FIXTURES / "cursor_usage_events.json"))
    sink = Collected()
    results = run(server, sqlite_engine, "cursor", "2026-10-01", "2026-11-15", sink)
    assert [(r.source, r.pages, r.records) for r in results] == [("cursor_daily", 3, 56), ("cursor_events", 2, 74)]
    assert [r.json() for r in server.seen("/teams/daily-usage-data")] == [
        {"startDate": ms("2026-10-01"), "endDate": ms("2026-10-31") - 1, "page": 1, "pageSize": 100},
        {"startDate": ms("2026-10-01"), "endDate": ms("2026-10-31") - 1, "page": 2, "pageSize": 100},
        {"startDate": ms("2026-10-31"), "endDate": ms("2026-11-15") - 1, "page": 1, "pageSize": 100},
    ]
    basic = base64.b64encode(f"{KEYS['cursor_api_key']}:".encode()).decode()
    assert {r.headers["authorization"] for r in server.seen()} == {f"Basic {basic}"}


def test_litellm_pages_until_total_pages(server: VendorServer, sqlite_engine: Engine) -> None:
    logs = fixture_json("litellm_spend_logs.json")
    server.route("GET", "/spend/logs/v2", Reply(body={**logs, "data": logs["data"][:50], "total_pages": 2}),
                 Reply(body={**logs, "data": logs["data"][50:], "page": 2, "total_pages": 2}))
    sink = Collected()
    [result] = run(server, sqlite_engine, "litellm", "2026-11-17", "2026-11-18", sink)
    assert (result.source, result.pages, result.records) == ("litellm", 2, 73)
    first, second = server.seen("/spend/logs/v2")
    assert (first.param("start_date"), first.param("end_date")) == ("2026-11-17 00:00:00", "2026-11-17 23:59:59")
    assert (first.param("page"), second.param("page"), first.param("page_size")) == ("1", "2", "100")
    assert first.headers["authorization"] == f"Bearer {KEYS['litellm_api_key']}"


def test_litellm_falls_back_to_spend_logs_ui_on_older_proxies(server: VendorServer, sqlite_engine: Engine) -> None:
    server.route("GET", "/spend/logs/ui", Reply.file(PULL_FIXTURES / "litellm_spend_logs.json"))
    [result] = run(server, sqlite_engine, "litellm", "2026-11-17", "2026-11-18", Collected())
    assert (result.status, result.pages, result.records) == ("ok", 1, 73)
    assert [r.path for r in server.seen()] == ["/spend/logs/v2", "/spend/logs/ui"]


def test_copilot_downloads_each_days_report_links_without_the_token(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    ndjson = (PULL_FIXTURES / "copilot_user_metrics.ndjson").read_bytes()
    lines = ndjson.splitlines(keepends=True)
    links = [f"{server.url}/reports/2026-11-17/part-{n}.ndjson?sig=s3cr3t" for n in (0, 1)]
    server.route("GET", "/orgs/acme/copilot/metrics/reports/users-1-day",
                 Reply(body={"download_links": links, "report_day": "2026-11-17"}), match={"day": "2026-11-17"})
    server.route("GET", "/reports/2026-11-17/part-0.ndjson", Reply(body=b"".join(lines[:20])))
    server.route("GET", "/reports/2026-11-17/part-1.ndjson", Reply(body=b"".join(lines[20:])))
    server.route("GET", "/orgs/acme/copilot/billing/seats", Reply.file(PULL_FIXTURES / "copilot_billing_seats.json"))
    sink = Collected()
    usage, seats = run(server, sqlite_engine, "github-copilot", "2026-11-16", "2026-11-18", sink)
    assert (usage.source, usage.status, usage.pages, usage.records) == ("copilot_usage", "ok", 2, len(lines))
    assert b"".join(c for s, _, c in sink.pages if s == "copilot_usage") == ndjson
    reports = server.seen("/orgs/acme/copilot/metrics/reports/users-1-day")
    assert [r.param("day") for r in reports] == ["2026-11-16", "2026-11-17"]  # 11-16 has no report (404): skipped
    downloads = [r for r in server.seen() if r.path.startswith("/reports/")]
    assert len(downloads) == 2 and all("authorization" not in r.headers for r in downloads)
    assert reports[0].headers["authorization"] == f"Bearer {KEYS['github_token']}"
    assert reports[0].headers["x-github-api-version"] == "2022-11-28"
    assert reports[0].headers["accept"] == "application/vnd.github+json"
    assert (seats.source, seats.pages, seats.records) == ("copilot_seats", 1, 6)


def test_copilot_seats_follow_link_next(server: VendorServer, sqlite_engine: Engine) -> None:
    document = fixture_json("copilot_billing_seats.json")
    path = "/orgs/acme/copilot/billing/seats"
    nxt = f'<{server.url}{path}?per_page=100&page=2>; rel="next", <{server.url}{path}?per_page=100&page=2>; rel="last"'
    server.route("GET", path, Reply(body={**document, "seats": document["seats"][:4]}, headers={"Link": nxt}))
    server.route("GET", path, Reply(body={**document, "seats": document["seats"][4:]}), match={"page": "2"})
    sink = Collected()
    [result] = run(server, sqlite_engine, "github-copilot:seats", "2026-11-16", "2026-11-18", sink)
    assert (result.pages, result.records) == (2, 6)
    assert [(r.param("per_page"), r.param("page")) for r in server.seen(path)] == [("100", None), ("100", "2")]


def test_github_pulls_follow_link_next_and_stop_at_a_page_older_than_since(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    path = "/repos/acme/app/pulls"
    pages = github_pages(server, path, 10)
    assert len(pages) == 4
    sink = Collected()
    [result] = run(server, sqlite_engine, "github", "2026-11-19", "2026-11-23", sink, repo="acme/app")
    # page 1 reaches 2026-11-19; page 2 is all older, so page 3 is never asked for
    assert (result.source, result.pages, result.records) == ("github:acme/app", 2, 20)
    first, second = server.seen(path)
    assert (first.param("state"), first.param("sort"), first.param("direction"), first.param("per_page")) == (
        "closed", "updated", "desc", "100")
    assert second.param("page") == "2"
    assert sink.bodies() == pages[:2]


def test_github_pulls_read_every_page_when_since_is_older(server: VendorServer, sqlite_engine: Engine) -> None:
    pages = github_pages(server, "/repos/acme/app/pulls", 10)
    [result] = run(server, sqlite_engine, "github", "2026-11-01", "2026-11-23", Collected(), repo="acme/app")
    assert (result.pages, result.records) == (len(pages), 35)


def test_github_pulls_need_a_repository(server: VendorServer, sqlite_engine: Engine) -> None:
    with pytest.raises(UsageError, match="--repo OWNER/NAME"):
        run(server, sqlite_engine, "github", "2026-11-01", "2026-11-23", Collected())
    with pytest.raises(UsageError, match="not of the form OWNER/NAME"):
        run(server, sqlite_engine, "github", "2026-11-01", "2026-11-23", Collected(), repo="acme")


def test_a_next_link_to_another_host_is_not_followed_with_the_token(
    server: VendorServer, sqlite_engine: Engine
) -> None:
    path = "/repos/acme/app/pulls"
    server.route("GET", path, Reply(body=[{"updated_at": "2026-11-22T00:00:00Z"}],
                                    headers={"Link": '<https://evil.example/next>; rel="next"'}))
    [result] = run(server, sqlite_engine, "github", "2026-11-01", "2026-11-23", Collected(), repo="acme/app")
    assert result.status == "failed" and "points off" in (result.error or "")
    assert len(server.seen()) == 1


@pytest.mark.parametrize(("spec", "missing", "variable"), [
    ("anthropic", "anthropic_admin_key", "ANTHROPIC_ADMIN_KEY"),
    ("anthropic:cost", "anthropic_admin_key", "ANTHROPIC_ADMIN_KEY"),
    ("openai", "openai_admin_key", "OPENAI_ADMIN_KEY"),
    ("cursor", "cursor_api_key", "CURSOR_API_KEY"),
    ("litellm", "litellm_api_key", "LITELLM_API_KEY"),
    ("litellm", "litellm_api_url", "LITELLM_API_URL"),
    ("github-copilot", "github_token", "GITHUB_TOKEN"),
    ("github-copilot", "github_org", "GITHUB_ORG"),
    ("github", "github_token", "GITHUB_TOKEN"),
])
def test_a_missing_key_is_a_settings_error_naming_the_variable(
    server: VendorServer, sqlite_engine: Engine, spec: str, missing: str, variable: str
) -> None:
    settings = settings_for(server, **{**KEYS, missing: None})
    with pytest.raises(SettingsError, match=variable) as caught:
        pull(sqlite_engine, settings, spec, repo="acme/app", sleep=lambda _: None, sink=Collected())
    assert caught.value.exit_code == 2
    assert not any(secret in str(caught.value) for secret in KEYS.values())
    assert server.seen() == []


@pytest.mark.parametrize("spec", ["anthropic:nope", "slack", "anthropic:"])
def test_an_unknown_source_lists_the_known_ones(server: VendorServer, sqlite_engine: Engine, spec: str) -> None:
    with pytest.raises(UsageError, match="unknown source") as caught:
        run(server, sqlite_engine, spec, "2026-11-01", "2026-11-23", Collected())
    assert "anthropic" in str(caught.value)


def test_since_must_come_before_until(server: VendorServer, sqlite_engine: Engine) -> None:
    with pytest.raises(UsageError, match="must be before"):
        run(server, sqlite_engine, "anthropic:usage", "2026-11-23", "2026-11-23", Collected())


def test_windows_split_into_chunks_that_cover_it_exactly() -> None:
    from bot.ingest.pull.base import PullWindow

    window = PullWindow(day("2026-09-01"), day("2026-11-15"))
    chunks = list(window.chunks(30))
    assert [(c.since, c.until) for c in chunks] == [
        (day("2026-09-01"), day("2026-10-01")), (day("2026-10-01"), day("2026-10-31")),
        (day("2026-10-31"), day("2026-11-15"))]
    assert sum((c.until - c.since for c in chunks), timedelta()) == window.until - window.since
