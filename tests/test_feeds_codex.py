"""OpenAI Codex Analytics for ChatGPT Enterprise: per-user daily usage and credits, and its pull."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import ActivityRow, Record, Rejection, UsageRow
from bot.ingest.files import ingest_paths
from bot.ingest.pull import pull
from storage import make_engine, upgrade
from tests.conftest import FIXTURES
from tests.contract import FeedCase, check_contract
from tests.fakes.vendor_server import Reply, VendorServer
from tests.pull_helpers import NOW, day, settings_for, stored

CODEX = FIXTURES / "codex_usage.json"
PATH = "/analytics/codex/workspaces/ws_acme/usage"

pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


def edit(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    document = json.loads(text)
    change(document)
    return json.dumps(document)


CASE = FeedCase("codex_usage", CODEX, corrupt=lambda t: edit(t, lambda d: d["data"][1]["totals"].pop("credits")),
                bad_location="data[1]",
                add_unknown_field=lambda t: edit(t, lambda d: [r.update(x_new=[1]) for r in d["data"]]),
                empty='{"object": "list", "data": [], "has_more": false, "next_page": null}')


def test_feed_contract(sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(CASE, sqlite_engine, tmp_path)


def rows() -> list[Any]:
    return [r for i in FEEDS["codex_usage"].parse(CODEX) if isinstance(i, Record) for r in i.rows]


def test_a_user_day_is_credits_threads_and_turns_and_tokens_priced_only_for_a_single_model() -> None:
    first = json.loads(CODEX.read_text())["data"][0]
    key = "2026-11-16|dev@acme.test"
    mine = {r.metric: r.value for r in rows() if isinstance(r, ActivityRow) and r.record_key == key}
    assert mine["codex_credits"] == first["totals"]["credits"] and mine["codex_turns"] == first["totals"]["turns"]
    usage = {r.record_key: r for r in rows() if isinstance(r, UsageRow)}
    dev = usage["2026-11-16|dev@acme.test"]
    assert (dev.model, dev.tool, dev.cost_usd) == ("gpt-5.3-codex", "codex", None)
    assert dev.input_tokens == sum(c["uncached_text_input_tokens"] for c in first["clients"])
    assert usage["2026-11-18|dev@acme.test"].model == "codex"  # two models that day: left unpriced, not guessed


@pytest.mark.parametrize(("change", "reason"), [
    (lambda r: r.update(end_time=r["start_time"] + 3600), "one UTC day"),
    (lambda r: (r.pop("actor"), r.pop("email", None)), "no user email"),
])
def test_rows_it_cannot_rely_on_are_rejected(tmp_path: Path, change: Callable[[dict[str, Any]], None],
                                             reason: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(edit(CODEX.read_text(), lambda d: change(d["data"][0])))
    rejected = [i for i in FEEDS["codex_usage"].parse(bad) if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == ["data[0]"] and reason in rejected[0].reason


def test_the_pull_pages_retries_resumes_and_stores_what_the_file_stores(
    server: VendorServer, engine: Engine, tmp_path: Path,
) -> None:
    document = json.loads(CODEX.read_text())
    first = {**document, "data": document["data"][:3], "has_more": True, "next_page": "p2"}
    second = {**document, "data": document["data"][3:]}
    server.route("GET", PATH, Reply(429, headers={"Retry-After": "2"}), Reply(body=first))
    server.route("GET", PATH, Reply(body=second), match={"page": "p2"})
    settings = settings_for(server, openai_codex_key="sk-codex-test-secret", codex_workspace_id="ws_acme",
                            chatgpt_api_url=server.url)
    [result] = pull(engine, settings, "codex", since=day("2026-11-16"), until=day("2026-11-21"),
                    sleep=lambda _: None, clock=lambda: NOW)
    assert (result.status, result.pages) == ("ok", 2), result.error
    direct = make_engine(f"sqlite:///{tmp_path / 'direct.db'}")
    upgrade(direct)
    ingest_paths(direct, [CODEX])
    assert stored(engine) == stored(direct)
    direct.dispose()
    seen = server.seen(PATH)[0]
    assert seen.headers["authorization"] == "Bearer sk-codex-test-secret"
    assert (seen.param("start_time"), seen.param("end_time")) == ("1794787200", "1795219200")
    [resumed] = pull(engine, settings, "codex", sleep=lambda _: None, clock=lambda: NOW)
    assert (resumed.status, resumed.since) == ("ok", day("2026-11-16"))  # 5 days back: the data lags
