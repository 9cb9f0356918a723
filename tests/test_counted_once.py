"""Usage feeds together: every fixture lands, nothing is counted twice, order never matters."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from bot.answers.me import me_report
from bot.config.org import OrgConfig
from bot.core.prices import PriceTable, Tokens, normalise_model
from bot.core.weeks import Week
from bot.digest.build import unattributed_spend
from bot.ingest.files import ingest_paths
from bot.people.directory import sync_directory
from storage import make_engine, upgrade
from storage.engine import session_scope
from storage.models import Usage, table
from tests.conftest import FIXTURES

USAGE_REPORT = [FIXTURES / "anthropic_usage_report.json", FIXTURES / "anthropic_usage_report.page2.json"]
CLAUDE_CODE = sorted((FIXTURES / "claude_code_analytics").glob("*.json"))
OTEL = [FIXTURES / "claude_code_otlp_metrics.json", FIXTURES / "claude_code_otlp_metrics.delta.jsonl"]
FEED_FIXTURES = [
    *USAGE_REPORT, *CLAUDE_CODE, *OTEL, FIXTURES / "claude_code_analytics.json",
    FIXTURES / "anthropic_cost_report.json", FIXTURES / "openai_usage_completions.json", FIXTURES / "openai_costs.json",
    FIXTURES / "litellm_spend_logs.json", FIXTURES / "cursor_daily_usage.json", FIXTURES / "cursor_usage_events.json",
    FIXTURES / "copilot_user_metrics.ndjson", FIXTURES / "copilot_billing_seats.json",
    FIXTURES / "copilot_metrics.json", FIXTURES / "focus_ai_costs.csv", FIXTURES / "github_pulls.json",
    FIXTURES / "github_pull_detail.json", FIXTURES / "github_webhook_pull_request_merged.json",
    FIXTURES / "jira_search.json", FIXTURES / "linear_issues.json",
]
WEEKS = [Week.parse("2026-W46"), Week.parse("2026-W47")]


def totals(engine: Engine, config: OrgConfig, prices: PriceTable) -> dict[tuple[str, str], tuple[float, Tokens]]:
    with session_scope(engine) as session:
        return {
            (p.email, str(w)): (round(r.figures.spend_usd, 6), r.figures.tokens)
            for p in config.people for w in WEEKS
            for r in [me_report(session, config, prices, p.email, w)]
        }


def test_every_shared_fixture_ingests_with_nothing_rejected(acme_engine: Engine) -> None:
    reports = ingest_paths(acme_engine, FEED_FIXTURES)
    assert [(r.path, r.errors[:1]) for r in reports if r.rejected or r.unusable] == []
    assert all(r.records > 0 for r in reports)


def test_all_anthropic_feeds_together_equal_the_usage_report_alone(
    acme_engine: Engine, acme_config, prices, tmp_path: Path
) -> None:
    alone = make_engine(f"sqlite:///{tmp_path / 'alone.db'}")
    upgrade(alone)
    sync_directory(alone, acme_config)
    ingest_paths(alone, USAGE_REPORT)
    ingest_paths(acme_engine, [*CLAUDE_CODE, *OTEL, *USAGE_REPORT, FIXTURES / "claude_code_analytics.json"])
    expected = totals(alone, acme_config, prices)
    assert any(spend > 0 for spend, _ in expected.values())
    assert totals(acme_engine, acme_config, prices) == expected


def test_openai_usage_with_the_gateway_log_counts_personal_rows_plus_the_log(
    acme_engine: Engine, acme_config, prices
) -> None:
    ingest_paths(acme_engine, [FIXTURES / "openai_usage_completions.json", FIXTURES / "litellm_spend_logs.json"])
    people = {row["email"]: row for row in csv.DictReader((FIXTURES / "people.csv").open())}
    by_openai_id = {r["openai_user_id"]: e for e, r in people.items()}
    by_key = {k: e for e, r in people.items() for k in r["openai_api_key_ids"].split("|") if k}
    by_litellm = {r["litellm_user"]: e for e, r in people.items() if r["litellm_user"]}
    expected: dict[str, list[float]] = {e: [0.0, 0, 0] for e in people}  # spend, input+cached, output
    nobodys = 0.0  # org-level: rows of no person, except the gateway key's on days its log covers

    for bucket in json.loads((FIXTURES / "openai_usage_completions.json").read_text())["data"]:
        day = datetime.fromtimestamp(bucket["start_time"], UTC).date()
        for row in bucket["results"]:
            if Week.of(day) != WEEKS[1]:
                continue
            owner = by_openai_id.get(row.get("user_id") or "") or by_key.get(row.get("api_key_id") or "")
            cached, writes = row.get("input_cached_tokens") or 0, row.get("input_cache_write_tokens") or 0
            tokens = Tokens(input=row["input_tokens"] - cached - writes, output=row["output_tokens"], cache_read=cached,
                            cache_write=writes)
            cost = prices.cost(normalise_model(row["model"]), tokens) or 0.0
            if owner is None:
                gateway_day = row.get("api_key_id") in acme_config.gateways and str(day) == "2026-11-17"
                nobodys += 0.0 if gateway_day else cost
                continue
            expected[owner][0] += cost
            expected[owner][1] += row["input_tokens"] - writes
            expected[owner][2] += row["output_tokens"]
    for log in json.loads((FIXTURES / "litellm_spend_logs.json").read_text())["data"]:
        owner = by_litellm[log["user"]]
        expected[owner][0] += log["spend"]
        expected[owner][1] += log["prompt_tokens"]
        expected[owner][2] += log["completion_tokens"]

    assert sum(v[0] for v in expected.values()) > 0
    with session_scope(acme_engine) as session:
        for email, (spend, inputs, outputs) in expected.items():
            mine = me_report(session, acme_config, prices, email, WEEKS[1]).figures
            assert mine.spend_usd == pytest.approx(spend), email
            assert mine.tokens.input + mine.tokens.cache_read == inputs, email
            assert mine.tokens.output == outputs, email
        # The gateway key's vendor rows are nobody's; on the day the gateway log covers they don't count at all.
        assert nobodys > 0
        assert unattributed_spend(session, acme_config, prices, WEEKS[1]) == pytest.approx(nobodys)


ORDER_FILES = [*USAGE_REPORT, *CLAUDE_CODE[5:10], *OTEL, FIXTURES / "litellm_spend_logs.json",
               FIXTURES / "openai_usage_completions.json", FIXTURES / "cursor_usage_events.json",
               FIXTURES / "github_pulls.json"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, acme_config, prices):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('base') / 'b.db'}")
    upgrade(engine)
    sync_directory(engine, acme_config)
    ingest_paths(engine, ORDER_FILES)
    return totals(engine, acme_config, prices)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations(ORDER_FILES), again=st.lists(st.sampled_from(ORDER_FILES), max_size=4),
       seed=st.integers(0, 10**6))
def test_totals_do_not_depend_on_feed_order_or_repetition(
    order, again, seed, baseline, acme_config, prices, tmp_path_factory: pytest.TempPathFactory  # type: ignore[no-untyped-def]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('order') / f'o{seed}.db'}")
    upgrade(engine)
    sync_directory(engine, acme_config)
    files = list(order) + list(again)
    random.Random(seed).shuffle(files)
    ingest_paths(engine, files)
    assert totals(engine, acme_config, prices) == baseline
    engine.dispose()


LINES = 150_000


def test_an_ingest_killed_midway_leaves_nothing_half_done(tmp_path: Path) -> None:
    log = tmp_path / "spend.jsonl"
    template = json.loads((FIXTURES / "litellm_spend_logs.json").read_text())["data"][0]
    with log.open("w") as out:
        for n in range(LINES):
            out.write(json.dumps({**template, "request_id": f"req-{n}"}) + "\n")
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    tokenworth = str(Path(sys.executable).parent / "tokenworth")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TOKENWORTH_CONFIG")}
    subprocess.run([tokenworth, "db", "upgrade", "--db", db], check=True, env=env, cwd=tmp_path, capture_output=True)
    process = subprocess.Popen([tokenworth, "ingest", str(log), "--db", db], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wal = tmp_path / "kill.db-wal"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (wal.exists() and wal.stat().st_size > 256_000):
        time.sleep(0.02)
    assert process.poll() is None, "the ingest finished before it could be killed: make the file bigger"
    process.send_signal(signal.SIGKILL)
    process.wait()
    engine = make_engine(db)

    def stored() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table(Usage))).scalar_one())

    assert stored() in (0, LINES)  # as if it had not started, or had finished: never a part
    small = tmp_path / "small.jsonl"
    small.write_text(json.dumps({**template, "request_id": "after"}) + "\n")
    after = subprocess.run([tokenworth, "ingest", str(small), "--db", db], env=env, cwd=tmp_path, capture_output=True)
    assert after.returncode == 0, after.stderr  # the database is intact and writable
    assert stored() in (1, LINES + 1)
