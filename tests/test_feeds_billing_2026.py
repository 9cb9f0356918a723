"""The 2026 billing feeds: Copilot AI credits and credit billing, Claude Enterprise Analytics usage and cost.

Each passes the adapter contract, is detected from content, ingests idempotently, and its pull pages,
retries and resumes against the local fake vendor server; the people and days are the sample org's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.answers.me import me_report
from bot.config.org import OrgConfig
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import BilledRow, IdentityLink, Record, UsageRow
from bot.ingest.files import ingest_paths
from bot.ingest.pull import pull
from bot.people.directory import sync_directory
from storage import make_engine, upgrade
from storage.engine import session_scope
from tests.conftest import FIXTURES
from tests.contract import FeedCase, check_contract
from tests.fakes.vendor_server import Reply, VendorServer
from tests.pull_helpers import KEYS, NOW, Collected, day, settings_for, stored

COPILOT = FIXTURES / "copilot_user_metrics.ndjson"
CREDIT_BILLING = FIXTURES / "copilot_ai_credit_usage.json"
ENTERPRISE = FIXTURES / "claude_enterprise_user_usage.json"
ENTERPRISE_COST = FIXTURES / "claude_enterprise_cost_report.json"
USER_USAGE_PATH = "/v1/organizations/analytics/user_usage_report"
COST_PATH = "/v1/organizations/analytics/cost_report"
CREDITS_PATH = "/organizations/acme/settings/billing/ai_credit/usage"
ANALYTICS_KEY = "sk-ant-analytics-test-secret"


def credits_of(line: dict[str, Any]) -> float:
    """The credits the sample org's Copilot users spent that day (tests/fixtures/copilot_usage.notes.md)."""
    interactions, generations = line["user_initiated_interaction_count"], line["code_generation_activity_count"]
    return round(interactions * 4.25 + generations * 0.1, 2)


@pytest.fixture
def credits_file(tmp_path: Path) -> Path:
    """The sample org's Copilot report with `ai_credits_used` on every user-day, as GitHub's example schema has it."""
    path = tmp_path / "copilot_user_metrics.credits.ndjson"
    lines = [json.loads(line) for line in COPILOT.read_text().splitlines()]
    path.write_text("".join(json.dumps({**line, "ai_credits_used": credits_of(line)}) + "\n" for line in lines))
    return path


def rows_of(source: str, path: Path) -> list[Any]:
    return [row for item in FEEDS[source].parse(path) if isinstance(item, Record) for row in item.rows]


def edit_json(text: str, change: Callable[[Any], None]) -> str:
    document = json.loads(text)
    change(document)
    return json.dumps(document)


def edit_first_line(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    first, *rest = text.splitlines()
    record = json.loads(first)
    change(record)
    return "\n".join([json.dumps(record), *rest]) + "\n"


def every_line(text: str) -> str:
    return "".join(json.dumps({**json.loads(line), "x_new": [1]}) + "\n" for line in text.splitlines())


def each(key: str, nested: str | None = None) -> Callable[[str], str]:
    def add(text: str) -> str:
        def change(document: Any) -> None:
            for item in document[key]:
                for target in (item[nested] if nested else [item]):
                    target["x_new"] = {"nested": True}
        return edit_json(text, change)
    return add


CASES = [
    FeedCase("copilot_credit_billing", CREDIT_BILLING,
             corrupt=lambda t: edit_json(t, lambda d: d["usageItems"][1].update(netAmount="free")),
             bad_location="usageItems[1]", add_unknown_field=each("usageItems"),
             empty='{"timePeriod": {"year": 2026, "month": 11, "day": 17}, "organization": "acme", "usageItems": []}'),
    FeedCase("claude_enterprise", ENTERPRISE,
             corrupt=lambda t: edit_json(t, lambda d: d["data"][2].update(output_tokens=-5)),
             bad_location="data[2]", add_unknown_field=each("data"),
             empty='{"data": [], "has_more": false, "next_page": null}'),
    FeedCase("claude_enterprise_cost", ENTERPRISE_COST,
             corrupt=lambda t: edit_json(t, lambda d: d["data"][0]["results"][0].update(amount="a lot")),
             bad_location="data[0].results[0]", add_unknown_field=each("data", "results"),
             empty='{"data": [], "has_more": false, "next_page": null}'),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_feed_contract(case: FeedCase, sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(case, sqlite_engine, tmp_path)


def test_feed_contract_with_ai_credits(credits_file: Path, sqlite_engine: Engine, tmp_path: Path) -> None:
    case = FeedCase("copilot_usage", credits_file, bad_location="line 1", add_unknown_field=every_line, empty="",
                    corrupt=lambda t: edit_first_line(t, lambda r: r.update(ai_credits_used="lots")))
    check_contract(case, sqlite_engine, tmp_path)


def test_ai_credits_become_copilot_usage_at_a_cent_each_beside_the_activity(credits_file: Path) -> None:
    found = rows_of("copilot_usage", credits_file)
    credits = [r for r in found if isinstance(r, UsageRow) and r.model == "ai-credits"]
    first = json.loads(credits_file.read_text().splitlines()[0])
    assert len(credits) == 32 and all(r.tool == "copilot" and r.provider == "github" for r in credits)
    mine = next(r for r in credits if r.identity.value == first["user_login"] and str(r.day) == first["day"])
    assert mine.cost_usd == pytest.approx(first["ai_credits_used"] / 100)
    before = rows_of("copilot_usage", COPILOT)
    assert [r for r in found if not (isinstance(r, UsageRow) and r.model == "ai-credits")] == before


def test_credit_billing_is_ledger_lines_of_the_named_day_at_the_net_amount() -> None:
    lines = rows_of("copilot_credit_billing", CREDIT_BILLING)
    assert all(isinstance(r, BilledRow) and str(r.day) == "2026-11-17" for r in lines)
    assert sorted(r.amount_usd for r in lines) == [0.0, 0.28]


def test_a_credit_billing_report_for_a_month_is_refused_whole(tmp_path: Path, sqlite_engine: Engine) -> None:
    month = tmp_path / "month.json"
    month.write_text(edit_json(CREDIT_BILLING.read_text(), lambda d: d["timePeriod"].pop("day")))
    [report] = ingest_paths(sqlite_engine, [month])
    assert report.unusable and "timePeriod must name one day" in report.errors[0]["reason"]


def test_enterprise_rows_are_seat_usage_by_email_linked_to_the_user_id() -> None:
    found = rows_of("claude_enterprise", ENTERPRISE)
    usage = [r for r in found if isinstance(r, UsageRow)]
    links = {(r.known.value, r.also.value) for r in found if isinstance(r, IdentityLink)}
    assert {r.identity.value for r in usage} == {"dev@acme.test", "fay@acme.test", "eli@acme.test"}
    assert all(r.billing == "subscription" and r.tool == "claude_chat" and r.cost_usd is None for r in usage)
    assert ("fay@acme.test", "user_01erHbiSejAf6xz3722VviC9") in links


@pytest.mark.parametrize(("change", "reason"), [
    (lambda r: r.update(starting_at=None, ending_at=None), "bucket_width=1d"),
    (lambda r: r.update(ending_at="2026-11-11T00:00:00Z"), "one UTC day"),
    (lambda r: r.update(model=None), "grouped by model"),
])
def test_enterprise_rows_the_adapter_cannot_rely_on_are_rejected(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], reason: str,
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(edit_json(ENTERPRISE.read_text(), lambda d: change(d["data"][0])))
    rejected = [i for i in FEEDS["claude_enterprise"].parse(bad) if not isinstance(i, Record)]
    assert [r.location for r in rejected] == ["data[0]"] and reason in rejected[0].reason


@pytest.fixture
def acme(sqlite_engine: Engine, acme_config: OrgConfig) -> Engine:
    sync_directory(sqlite_engine, acme_config)
    return sqlite_engine


def test_an_enterprise_seat_only_person_has_usage_and_a_yield_and_copilot_only_people_show_credits(
    acme: Engine, acme_config: OrgConfig, prices: PriceTable, credits_file: Path,
) -> None:
    ingest_paths(acme, [ENTERPRISE, credits_file, FIXTURES / "github_pulls.json"])
    week = Week.parse("2026-W46")
    with session_scope(acme) as session:
        fay = me_report(session, acme_config, prices, "fay@acme.test", week).figures
        dev = me_report(session, acme_config, prices, "dev@acme.test", week).figures
    assert fay.spend_by_tool["claude_chat"] > 0 and fay.tokens.total > 0 and fay.yield_per_100usd is not None
    assert dev.spend_by_tool["copilot"] > 0  # Dev's Copilot credits of the week, at $0.01 each
    credits = sum(credits_of(line) for line in map(json.loads, COPILOT.read_text().splitlines())
                  if line["user_login"] == "devdesai" and "2026-11-09" <= line["day"] <= "2026-11-15")
    assert credits > 0 and dev.spend_by_tool["copilot"] == pytest.approx(credits / 100)


# Pulls against the fake vendor server


pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


def run(server: VendorServer, engine: Engine, spec: str, since: str | None, until: str | None,
        **options: Any) -> Any:
    settings = settings_for(server, **KEYS, anthropic_analytics_key=ANALYTICS_KEY)
    [result] = pull(engine, settings, spec, since=day(since) if since else None,
                    until=day(until) if until else None, sleep=lambda _: None, clock=lambda: NOW, **options)
    return result


def halves(path: Path, key: str = "data") -> tuple[Reply, Reply]:
    document = json.loads(path.read_text())
    half = len(document[key]) // 2
    return (Reply(body={**document, key: document[key][:half], "has_more": True, "next_page": "page-2"}),
            Reply(body={**document, key: document[key][half:], "has_more": False, "next_page": None}))


def serve_enterprise(server: VendorServer) -> None:
    first, second = halves(ENTERPRISE)
    server.route("GET", USER_USAGE_PATH, first)
    server.route("GET", USER_USAGE_PATH, Reply(500), second, match={"page": "page-2"})  # a retried outage
    server.route("GET", COST_PATH, Reply(429, headers={"Retry-After": "1"}), Reply.file(ENTERPRISE_COST))


def direct_store(tmp_path: Path, files: list[Path]) -> dict[str, Any]:
    direct = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    upgrade(direct)
    assert not any(r.rejected or r.unusable for r in ingest_paths(direct, files))
    try:
        return stored(direct)
    finally:
        direct.dispose()


@pytest.mark.parametrize(("spec", "files"), [
    ("claude-enterprise:usage", [ENTERPRISE]), ("claude-enterprise:cost", [ENTERPRISE_COST]),
    ("github-copilot-credits:billing", [CREDIT_BILLING]),
])
def test_a_pull_pages_retries_and_stores_what_the_vendors_file_stores(
    spec: str, files: list[Path], server: VendorServer, engine: Engine, tmp_path: Path,
) -> None:
    serve_enterprise(server)
    server.route("GET", CREDITS_PATH, Reply(503), Reply.file(CREDIT_BILLING))
    since, until = ("2026-11-17", "2026-11-18") if "copilot" in spec else ("2026-11-09", "2026-11-23")
    result = run(server, engine, spec, since, until)
    assert result.status == "ok", result.error
    assert stored(engine) == direct_store(tmp_path, files) and any(stored(engine).values())
    again = run(server, engine, spec, since, until)
    assert again.status == "ok" and stored(engine) == direct_store(tmp_path, files)


def test_enterprise_pull_asks_by_day_model_and_product_and_follows_next_page(
    server: VendorServer, sqlite_engine: Engine,
) -> None:
    serve_enterprise(server)
    sink = Collected()
    result = run(server, sqlite_engine, "claude-enterprise:usage", "2026-11-09", "2026-11-23", sink=sink)
    assert (result.status, result.pages) == ("ok", 2)
    first, *retried = server.seen(USER_USAGE_PATH)
    assert first.query["group_by[]"] == ["model", "product"] and first.param("bucket_width") == "1d"
    assert first.headers["x-api-key"] == ANALYTICS_KEY and first.param("page") is None
    assert [r.param("page") for r in retried] == ["page-2", "page-2"]  # the 500, then its retry


def test_enterprise_pull_walks_31_day_windows_and_no_further_back_than_365_days(
    server: VendorServer, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    server.route("GET", USER_USAGE_PATH, Reply(body={"data": [], "has_more": False, "next_page": None}))
    with caplog.at_level(logging.WARNING):
        result = run(server, sqlite_engine, "claude-enterprise:usage", "2025-10-01", "2026-01-20", sink=Collected())
    windows = [(r.param("starting_at"), r.param("ending_at")) for r in server.seen(USER_USAGE_PATH)]
    assert result.status == "ok" and windows == [("2026-01-01T00:00:00Z", "2026-01-20T00:00:00Z")]
    assert "reach back to 2026-01-01 only" in caplog.text
    server.requests.clear()
    run(server, sqlite_engine, "claude-enterprise:usage", "2026-09-01", "2026-11-10", sink=Collected())
    windows = [(r.param("starting_at"), r.param("ending_at")) for r in server.seen(USER_USAGE_PATH)]
    assert windows == [("2026-09-01T00:00:00Z", "2026-10-02T00:00:00Z"),
                       ("2026-10-02T00:00:00Z", "2026-11-02T00:00:00Z"),
                       ("2026-11-02T00:00:00Z", "2026-11-10T00:00:00Z")]


def test_a_cost_bucket_at_the_100_group_cap_is_warned_about_and_still_stored(
    server: VendorServer, sqlite_engine: Engine, caplog: pytest.LogCaptureFixture,
) -> None:
    result = {"amount": "1.5", "list_amount": "1.5", "currency": "USD", "product": "chat"}
    full = [{**result, "rbac_group_id": f"rbac_group_{n:03d}"} for n in range(100)]
    buckets = [{"starting_at": "2026-11-17T00:00:00Z", "ending_at": "2026-11-18T00:00:00Z", "results": full},
               {"starting_at": "2026-11-18T00:00:00Z", "ending_at": "2026-11-19T00:00:00Z", "results": full[:3]}]
    server.route("GET", COST_PATH, Reply(body={"data": buckets, "has_more": False, "next_page": None}))
    with caplog.at_level(logging.WARNING):
        pulled = run(server, sqlite_engine, "claude-enterprise:cost", "2026-11-17", "2026-11-19")
    assert pulled.records == 103
    capped = [r.getMessage() for r in caplog.records if "the API's cap" in r.getMessage()]
    assert len(capped) == 1 and "2026-11-17T00:00:00Z" in capped[0]


def test_pulls_resume_from_the_last_good_pull_minus_three_days(server: VendorServer, sqlite_engine: Engine) -> None:
    server.route("GET", USER_USAGE_PATH, Reply(body={"data": [], "has_more": False, "next_page": None}))
    server.route("GET", CREDITS_PATH, Reply.file(CREDIT_BILLING))
    for spec in ("claude-enterprise:usage", "github-copilot-credits:billing"):
        run(server, sqlite_engine, spec, "2026-11-10", "2026-11-20", sink=Collected())
        resumed = run(server, sqlite_engine, spec, None, None, sink=Collected())
        assert (resumed.since, resumed.until) == (day("2026-11-17"), day("2026-11-23"))
    days = [(r.param("year"), r.param("month"), r.param("day")) for r in server.seen(CREDITS_PATH)]
    assert days[-6:] == [("2026", "11", str(d)) for d in range(17, 23)]  # one request per day of the window
