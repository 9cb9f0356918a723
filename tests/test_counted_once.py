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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from bot.answers.me import me_report
from bot.config.org import OrgConfig
from bot.core.attribution import count_once
from bot.core.facts import UsageFact
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
            usage = table(Usage)  # requests, not rows: the requests are folded into rollups
            return int(conn.execute(select(func.coalesce(func.sum(usage.c.requests), 0))).scalar_one())

    assert stored() in (0, LINES)  # as if it had not started, or had finished: never a part
    small = tmp_path / "small.jsonl"
    small.write_text(json.dumps({**template, "request_id": "after"}) + "\n")
    after = subprocess.run([tokenworth, "ingest", str(small), "--db", db], env=env, cwd=tmp_path, capture_output=True)
    assert after.returncode == 0, after.stderr  # the database is intact and writable
    assert stored() in (1, LINES + 1)


# Claude Enterprise Analytics beside Claude Code Analytics, the usage report and telemetry (bot.core.attribution)

ENTERPRISE_SOURCES = [("claude_enterprise", "subscription"), ("claude_code", "subscription"), ("claude_code", "api"),
                      ("anthropic_usage", None), ("claude_code_otel", None)]


def usage_fact(source: str, billing: str | None, tokens: int, model: str = "claude-sonnet-4-6") -> UsageFact:
    return UsageFact(person_id=1, day=datetime(2026, 11, 17).date(), provider="anthropic", tool="claude_code",
                     model=model, input_tokens=tokens, output_tokens=0, cache_read_tokens=0, cache_write_tokens=0,
                     requests=0, cost_usd=None, source=source, billing=billing)


facts_of_one_key = st.lists(
    st.builds(lambda pick, n: usage_fact(*ENTERPRISE_SOURCES[pick], n), st.integers(0, 4), st.integers(1, 10**6)),
    max_size=8,
)


def kinds(facts: list[UsageFact]) -> set[tuple[str, str | None]]:
    return {(f.source, f.billing) for f in facts}


@settings(max_examples=300, deadline=None)
@given(group=facts_of_one_key, seed=st.integers(0, 10**6))
def test_seat_and_api_billed_anthropic_usage_each_count_once_by_precedence(group: list[UsageFact], seed: int) -> None:
    kept = count_once(group)
    present = kinds(group)
    seat = ("claude_enterprise", "subscription") if ("claude_enterprise", "subscription") in present else (
        ("claude_code", "subscription") if ("claude_code", "subscription") in present else None)
    api = ("anthropic_usage", None) if ("anthropic_usage", None) in present else (
        ("claude_code", "api") if ("claude_code", "api") in present else None)
    expected = {k for k in (seat, api) if k} or ({("claude_code_otel", None)} & present)
    assert kinds(kept) == expected
    assert sorted(kept, key=repr) == sorted((f for f in group if (f.source, f.billing) in expected), key=repr)
    shuffled = list(group)
    random.Random(seed).shuffle(shuffled)
    assert sorted(count_once(shuffled), key=repr) == sorted(kept, key=repr)  # order never matters
    assert sorted(count_once(kept), key=repr) == sorted(kept, key=repr)  # counting again changes nothing


@settings(max_examples=100, deadline=None)
@given(group=facts_of_one_key)
def test_keys_of_other_models_or_days_never_displace_each_other(group: list[UsageFact]) -> None:
    other = [replace(f, model="claude-opus-4-6") for f in group]
    assert sorted(count_once(group + other), key=repr) == sorted(count_once(group) + count_once(other), key=repr)


def test_an_enterprise_seat_reported_by_claude_code_analytics_too_counts_once(
    acme_engine: Engine, acme_config, prices, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    enterprise = FIXTURES / "claude_enterprise_user_usage.json"
    alone = make_engine(f"sqlite:///{tmp_path / 'alone.db'}")
    upgrade(alone)
    sync_directory(alone, acme_config)
    ingest_paths(alone, [enterprise])
    rows = [r for r in json.loads(enterprise.read_text())["data"] if r["actor"]["email_address"] == "fay@acme.test"]
    seat_days = tmp_path / "claude_code_subscription.json"  # the same seat use as Claude Code Analytics reports it
    seat_days.write_text(json.dumps({"has_more": False, "next_page": None, "data": [{
        "actor": {"type": "user_actor", "email_address": "fay@acme.test"}, "customer_type": "subscription",
        "subscription_type": "enterprise", "date": f"{r['starting_at'][:10]}T00:00:00Z", "is_remote": False,
        "organization_id": "4a4724bf-7d64-413d-8c2f-f3302f051967", "terminal_type": "vscode",
        "core_metrics": {"num_sessions": 1, "lines_of_code": {"added": 0, "removed": 0}, "commits_by_claude_code": 0,
                         "pull_requests_by_claude_code": 0},
        "tool_actions": {t: {"accepted": 0, "rejected": 0} for t in
                         ("edit_tool", "multi_edit_tool", "notebook_edit_tool", "write_tool")},
        "model_breakdown": [{"model": r["model"], "estimated_cost": {"amount": 999.0, "currency": "USD"},
                             "tokens": {"input": r["uncached_input_tokens"], "output": r["output_tokens"],
                                        "cache_read": r["cache_read_input_tokens"], "cache_creation": 1}}],
    } for r in rows]}))
    reports = ingest_paths(acme_engine, [seat_days, enterprise, *USAGE_REPORT])
    assert not any(r.rejected or r.unusable for r in reports), [r.errors[:1] for r in reports]
    ingest_paths(alone, USAGE_REPORT)
    assert totals(acme_engine, acme_config, prices) == totals(alone, acme_config, prices)
    alone.dispose()


LITELLM_DAILY = [FIXTURES / "litellm_daily_activity.json", FIXTURES / "litellm_daily_activity.page2.json"]
GATEWAY_SOURCES = ("litellm", "litellm_daily", "openai_usage")


def gateway_fact(source: str, day: int, person: int, tokens: int) -> UsageFact:
    return UsageFact(person_id=person, day=datetime(2026, 11, day).date(), provider="openai", tool="litellm",
                     model="gpt-5-mini", input_tokens=tokens, output_tokens=0, cache_read_tokens=0,
                     cache_write_tokens=0, requests=1, cost_usd=None, source=source, billing="gateway")


gateway_facts = st.lists(st.builds(gateway_fact, st.sampled_from(GATEWAY_SOURCES), st.integers(16, 18),
                                   st.integers(1, 3), st.integers(1, 10**6)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(facts=gateway_facts, seed=st.integers(0, 10**6))
def test_the_gateways_daily_aggregates_count_only_on_days_without_its_spend_logs(
    facts: list[UsageFact], seed: int,
) -> None:
    log_days = {f.day for f in facts if f.source == "litellm"}
    expected = [f for f in facts if f.source != "litellm_daily" or f.day not in log_days]
    kept = count_once(facts)
    assert sorted(kept, key=repr) == sorted(expected, key=repr)
    shuffled = list(facts)
    random.Random(seed).shuffle(shuffled)
    assert sorted(count_once(shuffled), key=repr) == sorted(kept, key=repr)  # order never matters
    assert sorted(count_once(kept), key=repr) == sorted(kept, key=repr)  # counting again changes nothing


def test_spend_logs_win_over_the_daily_pull_and_a_day_only_in_the_pull_counts_from_it(
    acme_engine: Engine, acme_config: OrgConfig, prices: PriceTable, tmp_path: Path,
) -> None:
    reports = ingest_paths(acme_engine, [*LITELLM_DAILY, FIXTURES / "litellm_spend_logs.json"])
    assert not any(r.rejected or r.unusable for r in reports), [r.errors[:1] for r in reports]
    logs_alone = make_engine(f"sqlite:///{tmp_path / 'logs.db'}")
    upgrade(logs_alone)
    sync_directory(logs_alone, acme_config)
    ingest_paths(logs_alone, [FIXTURES / "litellm_spend_logs.json"])  # 2026-11-17 only
    expected = totals(logs_alone, acme_config, prices)
    assert totals(acme_engine, acme_config, prices) != expected  # 2026-11-16 is in the daily pull only
    ingest_paths(logs_alone, [LITELLM_DAILY[0]])  # the pull's 2026-11-16
    assert totals(acme_engine, acme_config, prices) == totals(logs_alone, acme_config, prices)
    day16 = json.loads(LITELLM_DAILY[0].read_text())["results"][0]["metrics"]["spend"]
    grown = sum(s for s, _ in totals(acme_engine, acme_config, prices).values()) - sum(s for s, _ in expected.values())
    assert round(grown, 4) == round(day16, 4)
    logs_alone.dispose()


def test_org_wide_spend_log_days_hold_back_an_aggregate_the_facts_alone_would_count() -> None:
    aggregate = gateway_fact("litellm_daily", 17, person=2, tokens=100)  # person 2's key; the log named person 1
    assert count_once([aggregate]) == [aggregate]
    assert count_once([aggregate], gateway_log_days={aggregate.day}) == []
