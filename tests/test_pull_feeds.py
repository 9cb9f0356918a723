"""Every vendor pull, ingested for real, stores exactly what ingesting the vendor's own file stores."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.ingest.files import ingest_paths
from bot.ingest.pull import pull
from storage import make_engine, upgrade
from tests.fakes.vendor_server import Reply, VendorServer
from tests.pull_helpers import KEYS, NOW, PULL_FIXTURES, day, fixture_json, settings_for, stored

Serve = Callable[[VendorServer, Path], list[Path]]  # routes the fake vendor; returns the files to ingest directly


pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


def anthropic_usage(server: VendorServer, _: Path) -> list[Path]:
    files = [PULL_FIXTURES / "anthropic_usage_report.json", PULL_FIXTURES / "anthropic_usage_report.page2.json"]
    server.route("GET", "/v1/organizations/usage_report/messages", *(Reply.file(f) for f in files))
    return files


def anthropic_cost(server: VendorServer, _: Path) -> list[Path]:
    server.route("GET", "/v1/organizations/cost_report", Reply.file(PULL_FIXTURES / "anthropic_cost_report.json"))
    return [PULL_FIXTURES / "anthropic_cost_report.json"]


def split(name: str, key: str, first: dict[str, Any], second: dict[str, Any]) -> tuple[Reply, Reply]:
    document = fixture_json(name)
    half = len(document[key]) // 2
    return (Reply(body={**document, key: document[key][:half], **first}),
            Reply(body={**document, key: document[key][half:], **second}))


def openai_usage(server: VendorServer, _: Path) -> list[Path]:
    server.route("GET", "/v1/organization/usage/completions", *split(
        "openai_usage_completions.json", "data", {"has_more": True, "next_page": "p2"}, {}))
    return [PULL_FIXTURES / "openai_usage_completions.json"]


def openai_costs(server: VendorServer, _: Path) -> list[Path]:
    server.route("GET", "/v1/organization/costs", Reply.file(PULL_FIXTURES / "openai_costs.json"))
    return [PULL_FIXTURES / "openai_costs.json"]


def cursor_daily(server: VendorServer, _: Path) -> list[Path]:
    pagination = fixture_json("cursor_daily_usage.json")["pagination"]
    server.route("POST", "/teams/daily-usage-data", *split(
        "cursor_daily_usage.json", "data", {"pagination": {**pagination, "hasNextPage": True}}, {}))
    return [PULL_FIXTURES / "cursor_daily_usage.json"]


def cursor_events(server: VendorServer, _: Path) -> list[Path]:
    pagination = fixture_json("cursor_usage_events.json")["pagination"]
    server.route("POST", "/teams/filtered-usage-events", *split(
        "cursor_usage_events.json", "usageEvents", {"pagination": {**pagination, "hasNextPage": True}}, {}))
    return [PULL_FIXTURES / "cursor_usage_events.json"]


def litellm(server: VendorServer, _: Path) -> list[Path]:
    server.route("GET", "/spend/logs/v2", *split("litellm_spend_logs.json", "data", {"total_pages": 2},
                                                 {"page": 2, "total_pages": 2}))
    return [PULL_FIXTURES / "litellm_spend_logs.json"]


def copilot_usage(server: VendorServer, _: Path) -> list[Path]:
    lines = (PULL_FIXTURES / "copilot_user_metrics.ndjson").read_bytes().splitlines(keepends=True)
    links = [f"{server.url}/dl/part-{n}.ndjson?sig=x" for n in (0, 1)]
    server.route("GET", "/orgs/acme/copilot/metrics/reports/users-1-day", Reply(body={"download_links": links}),
                 match={"day": "2026-11-17"})
    server.route("GET", "/dl/part-0.ndjson", Reply(body=b"".join(lines[:16])))
    server.route("GET", "/dl/part-1.ndjson", Reply(body=b"".join(lines[16:])))
    return [PULL_FIXTURES / "copilot_user_metrics.ndjson"]


def copilot_seats(server: VendorServer, tmp_path: Path) -> list[Path]:
    path = "/orgs/acme/copilot/billing/seats"
    first, second = split("copilot_billing_seats.json", "seats", {}, {})
    server.route("GET", path, Reply(body=first.body, headers={"Link": f'<{server.url}{path}?page=2>; rel="next"'}))
    server.route("GET", path, second, match={"page": "2"})
    snapshot = tmp_path / f"copilot-seats-{NOW.date()}.json"  # a pulled snapshot is dated the day it is taken
    shutil.copy(PULL_FIXTURES / "copilot_billing_seats.json", snapshot)
    return [snapshot]


CASES: dict[str, tuple[str, str, Serve]] = {
    "anthropic:usage": ("2026-11-09", "2026-11-23", anthropic_usage),
    "anthropic:cost": ("2026-11-09", "2026-11-23", anthropic_cost),
    "openai:usage": ("2026-11-09", "2026-11-23", openai_usage),
    "openai:costs": ("2026-11-09", "2026-11-23", openai_costs),
    "cursor:daily": ("2026-11-09", "2026-11-23", cursor_daily),
    "cursor:events": ("2026-11-17", "2026-11-18", cursor_events),
    "litellm": ("2026-11-17", "2026-11-18", litellm),
    "github-copilot:usage": ("2026-11-17", "2026-11-18", copilot_usage),
    "github-copilot:seats": ("2026-11-17", "2026-11-18", copilot_seats),
}


@pytest.mark.parametrize("spec", CASES)
def test_a_pull_stores_what_the_vendors_file_stores(spec: str, server: VendorServer, engine: Engine,
                                                     tmp_path: Path) -> None:
    since, until, serve = CASES[spec]
    files = serve(server, tmp_path)
    [result] = pull(engine, settings_for(server, **KEYS), spec, since=day(since), until=day(until),
                    sleep=lambda _: None, clock=lambda: NOW)
    assert result.status == "ok", result.error
    assert result.pages >= 1 and result.records > 0

    direct = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    upgrade(direct)
    reports = ingest_paths(direct, files)
    assert not any(r.unusable or r.rejected for r in reports), [r.errors for r in reports]
    pulled = stored(engine)
    assert any(pulled.values()), "the pull stored nothing"
    assert pulled == stored(direct)
    assert result.records == sum(r.records for r in reports)

    again = pull(engine, settings_for(server, **KEYS), spec, since=day(since), until=day(until),
                 sleep=lambda _: None, clock=lambda: NOW)
    assert again[0].status == "ok" and stored(engine) == pulled
    direct.dispose()


# Sub-feeds whose paging, retries and resume are tested in their own files.
ON_THEIR_OWN = {
    "anthropic:claude-code": "test_pull_ingest.py", "github:pulls": "test_pull_ingest.py",
    "claude-enterprise:usage": "test_feeds_billing_2026.py", "claude-enterprise:cost": "test_feeds_billing_2026.py",
    "github-copilot-credits:billing": "test_feeds_billing_2026.py", "cursor-ai-code:commits": "test_feeds_cursor_ai.py",
    "codex:usage": "test_feeds_codex.py",
}


def test_the_cases_cover_every_sub_feed_but_those_tested_on_their_own() -> None:
    from bot.ingest.pull import VENDORS

    every = {f"{v.name}:{f.name}" for v in VENDORS.values() for f in v.feeds}
    covered = {spec if ":" in spec else f"{spec}:spend" for spec in CASES}
    assert every - covered == set(ON_THEIR_OWN)
    tests = Path(__file__).parent
    for feed, module in ON_THEIR_OWN.items():
        assert feed.split(":")[0] in (tests / module).read_text(), (feed, module)
    assert covered <= every
