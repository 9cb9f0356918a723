"""`finops` and `export focus`: the month's costs per group add up to the org's and to `reconcile`'s, and the
FOCUS export carries them (and nobody's name) back in as the same billed totals."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.config.org import OrgConfig, load_config
from bot.core.prices import PriceTable
from bot.finops.export import COLUMNS, export_focus
from bot.finops.reconcile import ProviderLine, reconcile_period
from bot.finops.report import FinopsReport, finops_report
from bot.ingest.files import ingest_paths
from bot.people.directory import sync_directory
from bot.reads.queries import billed_by_provider
from storage.engine import make_engine, session_scope
from storage.migrate import upgrade
from tests.conftest import FIXTURES
from tests.test_cli import tokenworth
from tests.test_finops_workflows import write_finops_files

FEEDS = ["anthropic_usage_report.json", "anthropic_usage_report.page2.json", "anthropic_cost_report.json",
         "claude_code_analytics", "openai_usage_completions.json", "openai_costs.json", "litellm_spend_logs.json",
         "cursor_usage_events.json", "copilot_billing_seats.json", "focus_ai_costs.csv"]
WRITTEN = ["litellm_service_user.json", "workflow_outcomes.csv"]  # by write_finops_files
NOVEMBER = (date(2026, 11, 1), date(2026, 12, 1))
# FOCUS 1.2's mandatory columns with 1.3's ServiceProviderName and HostProviderName (FORMATS.md §9).
MANDATORY = {
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd", "ChargePeriodStart", "ContractedCost",
    "EffectiveCost", "InvoiceIssuerName", "ListCost", "PricingQuantity", "PricingUnit", "ServiceCategory",
    "ServiceName", "ServiceProviderName", "HostProviderName",
}
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@pytest.fixture(scope="module")
def finops_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finops")
    write_finops_files(root)
    return root


@pytest.fixture(scope="module")
def config(finops_dir: Path) -> OrgConfig:
    return load_config(finops_dir / "tokenworth.yml")


def feed_paths(finops_dir: Path) -> list[Path]:
    return [*(FIXTURES / name for name in FEEDS), *(finops_dir / name for name in WRITTEN)]


@pytest.fixture
def org(engine: Engine, config: OrgConfig, finops_dir: Path) -> Engine:
    sync_directory(engine, config)
    ingest_paths(engine, feed_paths(finops_dir))
    return engine


GROUPINGS = [("team",), ("workflow",), ("model",), ("provider",), ("tool",), ("team", "workflow"),
             ("team", "workflow", "model", "provider", "tool")]


def test_finops_groups_add_up_to_the_org_and_to_reconcile(org: Engine, config: OrgConfig, prices: PriceTable) -> None:
    with session_scope(org) as session:
        lines = reconcile_period(session, config, prices, *NOVEMBER)
        ledgers = billed_by_provider(session, *NOVEMBER)
        for by in GROUPINGS:
            _adds_up(finops_report(session, config, prices, "2026-11", by), lines, ledgers)


def _adds_up(report: FinopsReport, lines: list[ProviderLine], ledgers: dict[tuple[str, str], float]) -> None:
    assert report.metered_usd == pytest.approx(sum(line.spend_usd for line in lines), abs=1e-6)
    assert report.fixed_usd == pytest.approx(sum(line.fixed_usd for line in lines), abs=1e-6)
    assert report.fixed_usd == pytest.approx(6 * 11 * 19 * 12 / 365, abs=1e-6)  # six seats, 11-20 to 11-30
    assert sum(g.cost_usd for g in report.groups) == pytest.approx(report.metered_usd + report.fixed_usd)
    for source in {s for _, s in ledgers}:
        assert report.billed_usd[source] == pytest.approx(sum(a for (_, s), a in ledgers.items() if s == source))
    assert report.metered_usd > 2000 and all("@" not in part for g in report.groups for part in g.key)


def test_by_provider_groups_usage_by_who_bills_it(org: Engine, config: OrgConfig, prices: PriceTable) -> None:
    with session_scope(org) as session:
        report = finops_report(session, config, prices, "2026-11", ("provider",))
        lines = {line.provider: line for line in reconcile_period(session, config, prices, *NOVEMBER)}
    groups = {g.key[0]: g for g in report.groups}
    # Cursor bills its Claude events: they are Cursor's line, so Anthropic's usage meets Anthropic's bill.
    assert groups["cursor"].metered_usd == pytest.approx(21.28, abs=0.005)
    assert lines["anthropic"].spend_usd - 2.00 == pytest.approx(lines["anthropic"].billed_usd["anthropic_cost"],
                                                                abs=0.01)  # + the service user's gateway requests
    assert groups["github"].fixed_usd > 0 and groups["github"].billed_usd == pytest.approx(114.00)
    assert lines["cursor"].difference_usd["focus"] == pytest.approx(406.63 - 21.28, abs=0.01)
    assert any("plans include" in gap for gap in lines["cursor"].gaps)


def test_finops_from_the_command_line_as_json_and_csv(tmp_path: Path, finops_dir: Path) -> None:
    common = ("--db", f"sqlite:///{tmp_path / 'f.db'}", "--config", str(finops_dir / "tokenworth.yml"))
    assert tokenworth("ingest", *map(str, feed_paths(finops_dir)), *common, cwd=tmp_path).returncode == 0
    as_json = tokenworth("finops", "--month", "2026-11", "--by", "team,workflow", "--json", *common, cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert sum(g["cost_usd"] for g in data["groups"]) == pytest.approx(data["totals"]["cost_usd"])
    flows = {w["workflow"]: w for w in data["workflows"]}
    assert flows["ci-pr-review"]["outcome_points"] == 10.5 and flows["llm-gateway"]["note"].startswith(
        "llm-gateway has spend but no outcome kind")
    as_csv = tokenworth("finops", "--month", "2026-11", "--by", "provider", "--csv", *common, cwd=tmp_path)
    rows = list(csv.DictReader(as_csv.stdout.splitlines()))
    assert rows[0].keys() == {"provider", "metered_usd", "fixed_usd", "cost_usd", "billed_usd"}
    bad = tokenworth("finops", "--month", "2026-13", *common, cwd=tmp_path)
    assert bad.returncode != 0 and "--month: expected YYYY-MM" in bad.stderr


def test_the_focus_export_is_focus_shaped_names_nobody_and_reingests_to_the_same_totals(
    org: Engine, config: OrgConfig, prices: PriceTable, tmp_path: Path,
) -> None:
    out = tmp_path / "focus.csv"
    with session_scope(org) as session:
        written = export_focus(session, config, prices, "2026-11", out)
        report = finops_report(session, config, prices, "2026-11", ("provider",))
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert MANDATORY <= set(COLUMNS) and rows and list(rows[0]) == list(COLUMNS)
    for row in rows:
        assert INSTANT.fullmatch(row["ChargePeriodStart"]) and INSTANT.fullmatch(row["BillingPeriodEnd"])
        assert row["ChargeCategory"] in {"Usage", "Purchase"} and row["BillingCurrency"] == "USD"
        assert float(row["BilledCost"]) == float(row["EffectiveCost"]) == float(row["ListCost"]) > 0
        assert set(json.loads(row["Tags"])) == {"team", "workflow"}
    tags = {row["Tags"] for row in rows}
    # Both teams have three people, under min_group_size: their people's costs say team "other"; the
    # workflows are nobody's and keep their owner team.
    assert {json.loads(t)["team"] for t in tags} == {"other", "platform", "product"}
    assert all(json.loads(t)["team"] == "other" for t in tags if json.loads(t)["workflow"] == "people")
    text = out.read_text()
    assert "@" not in text and not any(p.email.split("@")[0] in text for p in config.people)  # no person
    assert sum(written.values()) == pytest.approx(report.metered_usd + report.fixed_usd, abs=1e-6)
    fresh = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(fresh)
    (again,) = ingest_paths(fresh, [out], source="focus")
    assert again.rejected == 0 and again.stored == len(rows)
    with session_scope(fresh) as session:
        billed = billed_by_provider(session, *NOVEMBER)
    assert {p: pytest.approx(a, abs=1e-6) for (p, _), a in billed.items()} == written
    assert {g.key[0]: pytest.approx(g.cost_usd, abs=1e-6) for g in report.groups if g.cost_usd} == written


def test_groups_of_people_pass_the_privacy_floor_and_workflows_are_shown(
    org: Engine, config: OrgConfig, prices: PriceTable,
) -> None:
    with session_scope(org) as session:
        report = finops_report(session, config, prices, "2026-11", ("team", "workflow"))
        by_model = finops_report(session, config, prices, "2026-11", ("model",))
    keys = {g.key for g in report.groups}
    # Each team holds three people, fewer than min_group_size: their people's costs are one "other" row.
    assert keys == {("platform", "ci-pr-review"), ("platform", "llm-gateway"), ("product", "email-triage"),
                    ("other", "other")}
    assert ("claude-opus-4-6",) not in {g.key for g in by_model.groups}  # one person's model is never a row
    assert sum(g.cost_usd for g in by_model.groups) == pytest.approx(report.metered_usd + report.fixed_usd)
