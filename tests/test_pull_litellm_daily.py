"""`tokenworth pull litellm:daily`: LiteLLM's /user/daily/activity paged, retried, resumed, restated, and stored
exactly as ingesting the proxy's own response pages stores it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.errors import UsageError
from bot.ingest.files import ingest_paths
from bot.ingest.pull import PullResult, pull, pull_all_configured
from bot.runtime import Runtime
from storage import make_engine, upgrade
from storage.models import Usage, table
from tests.conftest import FIXTURES
from tests.contract import FeedCase, check_contract
from tests.fakes.vendor_server import Reply, VendorServer, route_litellm_daily
from tests.pull_helpers import KEYS, NOW, day, settings_for, stored

PAGES = [FIXTURES / "litellm_daily_activity.json", FIXTURES / "litellm_daily_activity.page2.json"]
PATH = "/user/daily/activity"
ELI = "3912b72ac4ada16c37bfc7d0cc7938ec8f3e5901b160c3203a2d4ff7cdf6c854"


pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


def bodies() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in PAGES]


def run(server: VendorServer, engine: Engine, since: str | None, until: str, spec: str = "litellm:daily"
        ) -> list[PullResult]:
    return pull(engine, settings_for(server, **KEYS), spec, since=day(since) if since else None, until=day(until),
                sleep=lambda _: None, clock=lambda: NOW)


def direct(tmp_path: Path, files: list[Path]) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    upgrade(engine)
    reports = ingest_paths(engine, files)
    assert not any(r.unusable or r.rejected for r in reports), [r.errors for r in reports]
    try:
        return stored(engine)
    finally:
        engine.dispose()


def spend(engine: Engine, on: str) -> float:
    u = table(Usage).c
    with engine.connect() as conn:
        total = conn.execute(select(func.sum(u.cost_usd)).where(u.source == "litellm_daily", u.day == day(on)))
        return round(float(total.scalar() or 0), 6)


def test_every_page_is_read_and_stored_as_the_proxys_own_pages_store(
    server: VendorServer, engine: Engine, tmp_path: Path,
) -> None:
    route_litellm_daily(server, bodies())
    [result] = run(server, engine, "2026-11-16", "2026-11-18")
    assert (result.source, result.status, result.pages, result.records) == ("litellm_daily", "ok", 1, 8)
    asked = [(r.param("start_date"), r.param("end_date"), r.param("page")) for r in server.seen(PATH)]
    assert asked == [("2026-11-16", "2026-11-17", "1"), ("2026-11-16", "2026-11-17", "2")]  # end_date is inclusive
    assert all(r.headers["authorization"] == f"Bearer {KEYS['litellm_api_key']}" for r in server.seen(PATH))
    pulled = stored(engine)
    assert pulled == direct(tmp_path, PAGES)
    identities = {dict(row)["identity_id"] for row in pulled["Usage"]}
    assert identities == {("litellm", f"{n}@acme.test") for n in ("ana", "ben", "cara", "eli")}


def test_a_day_that_straddles_two_pages_is_summed_not_replaced(
    server: VendorServer, engine: Engine, tmp_path: Path,
) -> None:
    whole = bodies()[1]
    first, second = copy.deepcopy(whole), copy.deepcopy(whole)
    groups = whole["results"][0]["breakdown"]["model_groups"]
    for group in first["results"][0]["breakdown"]["model_groups"].values():  # half of each key's figures on each page
        for metric in group["api_key_breakdown"].values():
            metric["metrics"] = {k: v / 2 if isinstance(v, float) else v // 2 for k, v in metric["metrics"].items()}
    for name, group in second["results"][0]["breakdown"]["model_groups"].items():
        for key, metric in group["api_key_breakdown"].items():
            was, half = groups[name]["api_key_breakdown"][key]["metrics"], first["results"][0]["breakdown"][
                "model_groups"][name]["api_key_breakdown"][key]["metrics"]
            metric["metrics"] = {k: v - half[k] for k, v in was.items()}
    first["metadata"] = {"page": 1, "total_pages": 2, "has_more": True}
    route_litellm_daily(server, [first, second])
    [result] = run(server, engine, "2026-11-17", "2026-11-18")
    assert result.ok, result.error
    assert stored(engine) == direct(tmp_path, [PAGES[1]])


def test_a_failed_page_is_retried(server: VendorServer, engine: Engine, tmp_path: Path) -> None:
    first, second = bodies()
    server.route("GET", PATH, Reply(503, {"error": "busy"}, {"Retry-After": "0"}), Reply(body=first))
    server.route("GET", PATH, Reply(body=second), match={"page": "2"})
    [result] = run(server, engine, "2026-11-16", "2026-11-18")
    assert result.ok, result.error
    assert len(server.seen(PATH)) == 3
    assert stored(engine) == direct(tmp_path, PAGES)


def test_an_outage_fails_the_pull_and_stores_nothing_of_the_chunk(server: VendorServer, engine: Engine) -> None:
    server.route("GET", PATH, Reply(body=bodies()[0]))
    server.route("GET", PATH, Reply(500, {"error": "down"}), match={"page": "2"})
    [result] = run(server, engine, "2026-11-16", "2026-11-18")
    assert result.status == "failed" and "gave up after" in (result.error or "")
    assert KEYS["litellm_api_key"] not in (result.error or "")
    assert not any(stored(engine).values())  # half a chunk may hold half a day: it is never ingested


def test_a_re_pull_resumes_and_restates_its_days(server: VendorServer, engine: Engine) -> None:
    route_litellm_daily(server, bodies())
    run(server, engine, "2026-11-16", "2026-11-18")
    before = spend(engine, "2026-11-17")
    restated = bodies()[1]
    del restated["results"][0]["breakdown"]["model_groups"]["gpt-4.1"]  # eli's use moved off the day
    restated["metadata"] = {"page": 1, "total_pages": 1}
    eli = bodies()[1]["results"][0]["breakdown"]["model_groups"]["gpt-4.1"]["api_key_breakdown"][ELI]
    server.route("GET", PATH, Reply(body=restated), match={"start_date": "2026-11-15"})
    [again] = run(server, engine, None, "2026-11-20")
    assert (again.status, again.since, again.until) == ("ok", day("2026-11-15"), day("2026-11-20"))  # 3 trailing days
    asked = {(r.param("start_date"), r.param("end_date")) for r in server.seen(PATH)}
    assert ("2026-11-15", "2026-11-19") in asked
    assert spend(engine, "2026-11-17") == round(before - eli["metrics"]["spend"], 6)  # replaced, not added to
    assert spend(engine, "2026-11-16") == 0  # the proxy no longer lists the day: a re-pull empties it


def test_litellm_alone_pulls_the_spend_logs_and_the_daily_feed_only_when_named(
    server: VendorServer, engine: Engine,
) -> None:
    server.route("GET", "/spend/logs/v2", Reply(body={"data": [], "total_pages": 1}))
    assert [r.source for r in run(server, engine, "2026-11-16", "2026-11-18", "litellm")] == ["litellm"]
    assert server.seen(PATH) == []
    with pytest.raises(UsageError, match="litellm:daily"):
        run(server, engine, "2026-11-16", "2026-11-18", "litellm:hourly")


def _corrupt(text: str) -> str:
    document = json.loads(text)
    document["results"][0]["breakdown"]["model_groups"]["gpt-4.1"]["api_key_breakdown"][ELI]["metrics"][
        "prompt_tokens"] = -5
    return json.dumps(document)


def _unknown(text: str) -> str:
    document = json.loads(text)
    for group in document["results"][0]["breakdown"]["model_groups"].values():
        for metric in group["api_key_breakdown"].values():
            metric["surprise"] = {"new": True}
            metric["metrics"]["compression_saved_tokens"] = 7
    return json.dumps(document)


def test_the_feed_keeps_the_contract(engine: Engine, tmp_path: Path) -> None:
    check_contract(FeedCase(
        source="litellm_daily", fixture=PAGES[0], corrupt=_corrupt,
        bad_location=f"results[0].breakdown.model_groups[gpt-4.1].api_key_breakdown[{ELI}]",
        add_unknown_field=_unknown, empty='{"results": [], "metadata": {"page": 1, "total_pages": 1}}',
    ), engine, tmp_path)


@pytest.mark.parametrize("choice", ["spend_logs", "daily"])
def test_litellm_pull_chooses_what_the_daily_job_pulls(choice: str, server: VendorServer, tmp_path: Path) -> None:
    route_litellm_daily(server, bodies())
    server.route("GET", "/spend/logs/v2", Reply(body={"data": [], "total_pages": 1}))
    settings = settings_for(server, litellm_api_key=KEYS["litellm_api_key"], litellm_pull=choice)
    runtime = Runtime.from_settings(settings, db=f"sqlite:///{tmp_path / 'daily.db'}")
    results = pull_all_configured(runtime, sleep=lambda _: None, clock=lambda: NOW)
    expected = "litellm_daily" if choice == "daily" else "litellm"
    assert [(r.source, r.status) for r in results] == [(expected, "ok")]
    assert bool(server.seen(PATH)) == (choice == "daily")
    assert bool(server.seen("/spend/logs/v2")) == (choice == "spend_logs")
