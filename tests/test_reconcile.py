"""FinOps: list-price spend, counted once, reconciles with what the vendors billed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from bot.core.weeks import Week
from bot.finops.reconcile import reconcile
from bot.ingest.files import ingest_paths
from storage.engine import session_scope
from tests.conftest import FIXTURES
from tests.test_cli import tokenworth

FEEDS = ["anthropic_usage_report.json", "anthropic_usage_report.page2.json", "anthropic_cost_report.json",
         "openai_usage_completions.json", "openai_costs.json", "focus_ai_costs.csv"]


@pytest.mark.parametrize("week", ["2026-W46", "2026-W47"])
def test_usage_at_list_price_equals_the_vendors_bills(acme_engine: Engine, acme_config, prices, week: str) -> None:
    ingest_paths(acme_engine, [FIXTURES / name for name in FEEDS])
    with session_scope(acme_engine) as session:
        lines = {line.provider: line for line in reconcile(session, acme_config, prices, Week.parse(week))}
    anthropic, openai = lines["anthropic"], lines["openai"]
    # The sample org's cost reports are its usage at list price, web searches included ($10 per 1,000).
    assert anthropic.spend_usd == pytest.approx(anthropic.billed_usd["anthropic_cost"], abs=0.01)
    assert anthropic.billed_usd["focus"] == pytest.approx(anthropic.billed_usd["anthropic_cost"], abs=0.01)
    assert openai.spend_usd == pytest.approx(openai.billed_usd["openai_costs"], abs=0.01)
    assert anthropic.spend_usd > 900 and not anthropic.unpriced_models
    assert lines["cursor"].spend_usd == 0 and lines["cursor"].billed_usd["focus"] > 0  # no Cursor usage feed here


def test_reconcile_from_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import EXAMPLE_CONFIG

    common = ("--db", f"sqlite:///{tmp_path / 'r.db'}", "--config", str(EXAMPLE_CONFIG))
    assert tokenworth("ingest", *[str(FIXTURES / n) for n in FEEDS[:3]], *common, cwd=tmp_path).returncode == 0
    result = tokenworth("reconcile", "--week", "2026-W47", "--json", *common, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (line,) = json.loads(result.stdout)
    assert (line["provider"] == "anthropic"
            and line["spend_usd"] == pytest.approx(line["billed_usd"]["anthropic_cost"], abs=0.01))


def test_usage_is_grouped_by_who_bills_it_with_the_difference_and_its_gaps(
    acme_engine: Engine, acme_config, prices,  # type: ignore[no-untyped-def]
) -> None:
    ingest_paths(acme_engine, [FIXTURES / name for name in [*FEEDS, "cursor_usage_events.json"]])
    with session_scope(acme_engine) as session:
        lines = {line.provider: line for line in reconcile(session, acme_config, prices, Week.parse("2026-W47"))}
    anthropic, cursor = lines["anthropic"], lines["cursor"]
    # Cursor's Claude events are on Cursor's bill, not Anthropic's: Anthropic's usage still meets its cost report.
    assert anthropic.spend_usd == pytest.approx(anthropic.billed_usd["anthropic_cost"], abs=0.01)
    assert cursor.spend_usd == pytest.approx(21.28, abs=0.005)
    assert cursor.difference_usd["focus"] == pytest.approx(cursor.billed_usd["focus"] - cursor.spend_usd)
    assert any("plans include" in gap for gap in cursor.gaps)
    assert any(gap.startswith("billed on 6 days (2026-11-16 to 2026-11-22) with no usage feed") for gap in cursor.gaps)
    assert cursor.as_json()["difference_usd"] == cursor.difference_usd
