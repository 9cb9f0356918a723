"""Workflows: service usage nobody claims becomes its configured workflow's, with outcomes and cost per outcome."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.config.org import OrgConfig, load_config, parse_config
from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.core.workflows import rules_of, split_unattributed
from bot.errors import ConfigError
from bot.finops.report import workflow_period
from bot.ingest.files import ingest_paths
from bot.ingest.webhooks import handle_outcomes_webhook
from bot.people.directory import sync_directory
from bot.people.identities import unmapped_lines
from bot.reads.finops import org_usage
from storage.engine import session_scope
from tests.conftest import EXAMPLE_CONFIG, FIXTURES

# Written by the tests, not kept in tests/fixtures: the fixtures directory is ingested whole elsewhere.
FINOPS_SECTIONS = """
workflows:                                      # first match wins
  - name: ci-pr-review
    team: platform
    match: {api_key: apikey_01kELTCsFuSzU1yyLrzgCc4F, api_key_name: ci-pr-review}
    outcome_kinds: [prs_reviewed]
  - name: email-triage
    team: product
    match: {litellm_user: svc-email-triage}
    outcome_kinds: [emails_triaged]
  - name: llm-gateway
    team: platform
    match: {api_key: key_KAHAsJHF22254gKp}
outcome_kinds: {prs_reviewed: 0.5, emails_triaged: 0.05}
seats: {copilot_business: 19}
budgets:
  teams: {platform: 2000, product: 100}
  workflows: {ci-pr-review: 20}
  warning_share: 0.8
alerts: {regression_factor: 1.5, min_points: 5}
"""
WORKFLOW_OUTCOMES = """workflow,date,kind,quantity,ref
ci-pr-review,2026-11-17,prs_reviewed,12,ci-2026-11-17
ci-pr-review,2026-11-18,prs_reviewed,9,ci-2026-11-18
email-triage,2026-11-17,emails_triaged,400,triage-2026-11-17
"""
FEEDS = ["anthropic_usage_report.json", "anthropic_usage_report.page2.json", "claude_code_analytics",
         "openai_usage_completions.json", "litellm_spend_logs.json"]
NOVEMBER = (date(2026, 11, 1), date(2026, 12, 1))
SECRET = b"outcomes-test-secret"


def write_finops_files(root: Path) -> Path:
    """The sample org's config with workflows, outcome kinds, seats and budgets, a LiteLLM page of a service
    user's three requests (Claude Haiku through the gateway on 2026-11-17, $2.00) and workflow outcomes;
    returns the config's path."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tokenworth.yml").write_text(EXAMPLE_CONFIG.read_text() + FINOPS_SECTIONS)
    page = json.loads((FIXTURES / "litellm_spend_logs.json").read_text())
    rows = []
    for n, (row, spend) in enumerate(zip(page["data"][:3], (0.25, 0.5, 1.25), strict=True)):
        row.update(request_id=f"chatcmpl-svc-email-triage-{n}", user="svc-email-triage", spend=spend,
                   model="claude-haiku-4-5", model_group="claude-haiku-4-5", custom_llm_provider="anthropic")
        row["metadata"].update(user_api_key_alias="email-triage-agent", user_api_key_user_id="svc-email-triage")
        rows.append(row)
    (root / "litellm_service_user.json").write_text(json.dumps({**page, "data": rows, "total": 3}))
    (root / "workflow_outcomes.csv").write_text(WORKFLOW_OUTCOMES)
    return root / "tokenworth.yml"


@pytest.fixture(scope="module")
def finops_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finops")
    write_finops_files(root)
    return root


@pytest.fixture(scope="module")
def finops_config(finops_dir: Path) -> OrgConfig:
    return load_config(finops_dir / "tokenworth.yml")


@pytest.fixture
def org(engine: Engine, finops_config: OrgConfig, finops_dir: Path) -> Engine:
    sync_directory(engine, finops_config)
    ingest_paths(engine, [*(FIXTURES / name for name in FEEDS), finops_dir / "litellm_service_user.json"])
    return engine


def _nobody_usd(engine: Engine, config: OrgConfig, prices: PriceTable) -> float:
    with session_scope(engine) as session:
        usage = org_usage(session, config, prices.canonical, *NOVEMBER)
    return sum(spend_of(fact, prices) or 0.0 for fact, _, _ in usage.nobody)


def test_the_ci_key_and_the_gateway_service_user_land_in_their_workflows(
    org: Engine, finops_config: OrgConfig, acme_config: OrgConfig, prices: PriceTable,
) -> None:
    with session_scope(org) as session:
        usage = org_usage(session, finops_config, prices.canonical, *NOVEMBER)
    by_flow: dict[str, float] = {}
    for fact, rule in usage.workflows:
        by_flow[rule.name] = by_flow.get(rule.name, 0.0) + (spend_of(fact, prices) or 0.0)
    assert set(by_flow) == {"ci-pr-review", "email-triage", "llm-gateway"}
    assert by_flow["email-triage"] == pytest.approx(2.00)  # the three service-user requests: 0.25 + 0.5 + 1.25
    assert by_flow["ci-pr-review"] == pytest.approx(16.57, abs=0.005)
    # Unattributed spend drops by exactly what the workflows now hold, not a cent more or less.
    before, after = _nobody_usd(org, acme_config, prices), _nobody_usd(org, finops_config, prices)
    assert before - after == pytest.approx(sum(by_flow.values()), abs=1e-9)
    assert after == pytest.approx(0.0, abs=1e-9)  # these feeds hold no other service usage


def test_a_persons_own_usage_stays_theirs(org: Engine, finops_config: OrgConfig, prices: PriceTable) -> None:
    with session_scope(org) as session:
        usage = org_usage(session, finops_config, prices.canonical, *NOVEMBER)
    assert usage.people and all(fact.person_id is not None for fact in usage.people)
    assert all(fact.person_id is None for fact, _ in usage.workflows)


def test_the_first_matching_rule_wins(finops_config: OrgConfig) -> None:
    raw = _raw(finops_config)
    raw["workflows"].insert(0, {"name": "all-litellm", "team": "product", "match": {"tool": "litellm"}})
    rules = rules_of(parse_config(raw).workflows)
    from bot.core.facts import UsageFact

    fact = UsageFact(None, date(2026, 11, 17), "openai", "litellm", "gpt-5", 1, 1, 0, 0, 1, 0.1)
    flows, rest = split_unattributed([(fact, "litellm", "svc-email-triage")], rules)
    assert [rule.name for _, rule in flows] == ["all-litellm"] and not rest
    flows, _ = split_unattributed([(fact, "litellm", "svc-email-triage")], rules[1:])
    assert [rule.name for _, rule in flows] == ["email-triage"]


def _raw(config: OrgConfig) -> dict[str, Any]:
    import yaml

    raw: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text() + FINOPS_SECTIONS)
    return raw


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r["workflows"][0].update(team="ops"), "workflows[0].team: ci-pr-review names unknown team 'ops'"),
    (lambda r: r["workflows"][1].update(name="ci-pr-review"), "workflows[1].name: workflow 'ci-pr-review' is defined"),
    (lambda r: r["workflows"][0]["match"].update(api_key="apikey_01zxFyow88vZd7F9uPSbiEE3"),
     "is ben@acme.test's; a person's own usage stays theirs"),
    (lambda r: r["workflows"][0].update(outcome_kinds=["bugs_found"]), "'bugs_found' is not under outcome_kinds"),
    (lambda r: r["workflows"][0].update(match={}), "names no identity and no tool"),
    (lambda r: r["workflows"][0].update(name="CI Review"), "use lower-case letters"),
    (lambda r: r["outcome_kinds"].update(pr_merged=1), "scored by policy.points"),
    (lambda r: r["budgets"]["teams"].update(ops=5), "budgets.teams.ops: no such team"),
    (lambda r: r["budgets"]["workflows"].update({"ci-pr-review": -1}), "a budget must be a positive number"),
    (lambda r: r["seats"].update(copilot_business="free"), "a seat price is USD a month"),
])
def test_workflow_config_mistakes_are_named(finops_config: OrgConfig, change: Any, message: str) -> None:
    raw = _raw(finops_config)
    change(raw)
    with pytest.raises(ConfigError, match=None) as caught:
        parse_config(raw, source="tokenworth.yml")
    assert message in str(caught.value)


def test_unmapped_service_identities_come_with_a_workflow_or_gateway_hint(
    org: Engine, acme_config: OrgConfig, finops_config: OrgConfig, prices: PriceTable,
) -> None:
    no_gateways = acme_config.model_copy(update={"gateways": ()})
    with session_scope(org) as session:
        lines = unmapped_lines(session, prices, no_gateways.gateways, days=30, today=date(2026, 11, 30))
        mapped = unmapped_lines(session, prices, finops_config.gateways, days=30, today=date(2026, 11, 30),
                                workflows=finops_config.workflows)
    text = "\n".join(lines)
    assert "anthropic_key_name:ci-pr-review" not in text  # the usage report covers those days: counted once
    assert "litellm:svc-email-triage  $2.00  suggested workflow: - {name: svc-email-triage, team: TEAM, " \
           "match: {litellm_user: svc-email-triage}}" in lines
    assert any(line.startswith("api_key:apikey_01kELTCsFuSzU1yyLrzgCc4F ") and "match: {api_key: " in line
               for line in lines)
    # The gateway's OpenAI key carries the LiteLLM log's tokens on the day both report: a gateways: hint.
    (gateway,) = [line for line in lines if line.startswith("api_key:key_KAHAsJHF22254gKp")]
    assert "looks like a gateway's provider key: add it to gateways: [key_KAHAsJHF22254gKp]" in gateway
    assert mapped == []  # every service identity here is a configured workflow's


def test_workflow_outcomes_give_a_cost_per_outcome(
    org: Engine, finops_config: OrgConfig, prices: PriceTable, finops_dir: Path,
) -> None:
    (report,) = ingest_paths(org, [finops_dir / "workflow_outcomes.csv"])
    assert (report.rejected, report.stored) == (0, 3)
    with session_scope(org) as session:
        costs = {c.name: c for c in workflow_period(session, finops_config, prices, *NOVEMBER)}
    review, triage, gateway = costs["ci-pr-review"], costs["email-triage"], costs["llm-gateway"]
    assert review.outcomes == {"prs_reviewed": 21} and review.points == pytest.approx(10.5)
    assert review.cost_per_point == pytest.approx(review.spend_usd / 10.5)
    assert review.cost_per_unit("prs_reviewed") == pytest.approx(review.spend_usd / 21)
    assert triage.points == pytest.approx(20.0) and triage.cost_per_point == pytest.approx(0.10)
    assert gateway.spend_usd > 100 and gateway.note(()) == (
        "llm-gateway has spend but no outcome kind: add outcome_kinds to it to get a cost per outcome")


def _signed(body: bytes, secret: bytes = SECRET) -> dict[str, str]:
    return {"X-Tokenworth-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()}


PAYLOAD = json.dumps({"id": "run-2026-11-17", "outcomes": [
    {"workflow": "email-triage", "kind": "emails_triaged", "quantity": 250, "date": "2026-11-17"},
    {"workflow": "email-triage", "kind": "Emails Triaged", "quantity": 1, "date": "2026-11-17"},
]}).encode()


def test_the_outcomes_webhook_verifies_before_parsing_and_stores_once(
    org: Engine, finops_config: OrgConfig, prices: PriceTable,
) -> None:
    forged = handle_outcomes_webhook(org, SECRET, _signed(b"{not json", b"wrong"), b"{not json")
    assert forged.status == 401  # a forged body is never parsed: not a 400
    assert handle_outcomes_webhook(org, b"", _signed(PAYLOAD), PAYLOAD).status == 503
    assert handle_outcomes_webhook(org, SECRET, _signed(b"[1,2"), b"[1,2").status == 400
    no_id = json.dumps({"outcomes": []}).encode()
    assert handle_outcomes_webhook(org, SECRET, _signed(no_id), no_id).status == 400
    first = handle_outcomes_webhook(org, SECRET, _signed(PAYLOAD), PAYLOAD)
    assert first.status == 202 and first.message.startswith("stored 1 outcome; rejected 1: outcomes[1]: kind:")
    again = handle_outcomes_webhook(org, SECRET, _signed(PAYLOAD), PAYLOAD)
    assert (again.status, again.message) == (202, "duplicate")
    with session_scope(org) as session:
        costs = {c.name: c for c in workflow_period(session, finops_config, prices, *NOVEMBER)}
    assert costs["email-triage"].outcomes == {"emails_triaged": 250}


def test_the_outcomes_route_answers_over_http(tmp_path: Path) -> None:
    import httpx
    from pydantic import SecretStr

    from bot.config.settings import Settings
    from bot.people.directory import prepare
    from bot.runtime import Runtime
    from bot.slack.http import http_server

    class _Settings(Settings):
        outcomes_webhook_secret: SecretStr | None = None

    settings = _Settings(outcomes_webhook_secret=SecretStr(SECRET.decode()))
    runtime = Runtime(settings, f"sqlite:///{tmp_path / 'w.db'}", str(write_finops_files(tmp_path / "org")))
    prepare(runtime)
    server = http_server(runtime, None, "127.0.0.1", 0)
    import threading

    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.effective_port}/webhooks/outcomes"
        assert httpx.post(url, content=PAYLOAD, headers=_signed(PAYLOAD, b"nope")).status_code == 401
        assert httpx.post(url, content=PAYLOAD, headers=_signed(PAYLOAD)).status_code == 202
        big = b"x" * (1024 * 1024 + 1)
        assert httpx.post(url, content=big, headers=_signed(big)).status_code == 413
    finally:
        server.close()
        thread.join(timeout=5)


@given(rows=st.lists(st.tuples(st.sampled_from(["api_key", "litellm", "openai_project", "email"]),
                               st.sampled_from(["k1", "svc-email-triage", "apikey_01kELTCsFuSzU1yyLrzgCc4F", "x"]),
                               st.sampled_from(["litellm", "cursor", "evals"])), max_size=30))
def test_every_unattributed_row_goes_to_at_most_one_workflow(rows: list[tuple[str, str, str]]) -> None:
    from bot.core.facts import UsageFact

    rules = rules_of(parse_config(_raw(load_config(EXAMPLE_CONFIG))).workflows) + rules_of(
        parse_config({"teams": [{"name": "t"}], "workflows": [{"name": "evals", "team": "t", "match": {
            "tool": "evals"}}]}).workflows)
    facts = [(UsageFact(None, date(2026, 11, 17), "openai", tool, "gpt-5", 1, 1, 0, 0, 1, 0.1), kind, value)
             for kind, value, tool in rows]
    flows, rest = split_unattributed(facts, rules)
    assert len(flows) + len(rest) == len(facts)
    for fact, rule in flows:
        assert rule.name == next(r.name for r in rules if r.matches(*next(
            (k, v) for f, k, v in facts if f is fact), fact.tool))


def test_a_locked_database_answers_503_and_the_same_payload_is_stored_later(org: Engine) -> None:
    from tests.test_webhooks import WriteLock

    lock = WriteLock(org)
    try:
        busy = handle_outcomes_webhook(org, SECRET, _signed(PAYLOAD), PAYLOAD, lock_wait=0.2)
    finally:
        lock.release()
    assert busy.status == 503
    assert handle_outcomes_webhook(org, SECRET, _signed(PAYLOAD), PAYLOAD).status == 202
