"""`me` for the sample org, against figures worked out by hand from the fixture files."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from bot.answers.me import me_report
from bot.config.org import OrgConfig
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.errors import UnknownPerson
from bot.ingest.files import ingest_paths
from storage.engine import session_scope
from tests.conftest import FIXTURES


@pytest.fixture
def acme(acme_engine: Engine) -> Engine:
    ingest_paths(acme_engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    return acme_engine


def me(engine: Engine, config: OrgConfig, prices: PriceTable, email: str, week: str) -> dict:
    with session_scope(engine) as session:
        return me_report(session, config, prices, email, Week.parse(week)).as_json()


# Spend is the sum of Claude Code estimated_cost (cents) per person-week; points are 3 per merged PR
# and -3 per reverted one (Ben's #1168, reverted by Ana's #1175 on 2026-11-13, in W46).
@pytest.mark.parametrize(
    ("email", "week", "spend", "merged", "reverted", "points"),
    [
        ("cara@acme.test", "2026-W46", 6.1495, 5, 0, 15),
        ("cara@acme.test", "2026-W47", 6.4819, 5, 0, 15),
        ("ben@acme.test", "2026-W46", 569.0642, 1, 1, 0),
        ("ben@acme.test", "2026-W47", 568.6913, 1, 0, 3),
        ("ana@acme.test", "2026-W46", 50.9894, 2, 0, 6),
        ("ana@acme.test", "2026-W47", 39.5386, 3, 0, 9),
        ("eli@acme.test", "2026-W47", 32.1939, 3, 0, 9),  # #1193, #1184, #1177 (Sunday 07:53 UTC)
        ("dev@acme.test", "2026-W47", 0.0, 3, 0, 9),
    ],
)
def test_sample_org_person_weeks(
    acme: Engine, acme_config, prices, email, week, spend, merged, reverted, points
) -> None:
    figures = me(acme, acme_config, prices, email, week)
    assert figures["spend_usd"] == pytest.approx(spend)
    assert figures["outcomes"]["pr_merged"] == merged
    assert figures["outcomes"]["pr_reverted"] == reverted
    assert figures["outcome_points"] == points
    expected_yield = None if spend < 1 else points / spend * 100
    assert figures["yield_per_100usd"] == pytest.approx(expected_yield)
    assert figures["team"] is None  # teams of three are below the privacy floor


def test_me_json_shape(acme: Engine, acme_config, prices) -> None:
    figures = me(acme, acme_config, prices, "Cara@Acme.test", "2026-W47")
    assert {"email", "week", "spend_usd", "tokens", "outcomes", "outcome_points", "yield_per_100usd",
            "savings_usd", "flags", "team"} <= set(figures)
    assert set(figures["tokens"]) >= {"input", "output", "cache_read", "cache_write"}
    assert set(figures["outcomes"]) == {"pr_merged", "pr_reverted", "tickets_closed", "ticket_points"}
    assert figures["tokens"]["total"] == 22568774
    assert figures["email"] == "cara@acme.test" and figures["week"] == "2026-W47"


def test_frontier_savings_price_the_same_tokens_at_the_standard_model(acme: Engine, acme_config, prices) -> None:
    figures = me(acme, acme_config, prices, "ben@acme.test", "2026-W47")
    assert figures["frontier_share"] > 0.9
    expected = 0.0
    for day in range(16, 23):
        for record in json.loads((FIXTURES / "claude_code_analytics" / f"2026-11-{day}.json").read_text())["data"]:
            if record["actor"].get("email_address") != "ben@acme.test":
                continue
            for use in record["model_breakdown"]:
                if "opus" in use["model"]:
                    t = use["tokens"]  # Sonnet 4.6: 3 input, 15 output, 0.30 cache read, 3.75 cache write
                    sonnet = (
                        t["input"] * 3 + t["output"] * 15 + t["cache_read"] * 0.3 + t["cache_creation"] * 3.75
                    ) / 1e6
                    expected += use["estimated_cost"]["amount"] / 100 - sonnet
    assert figures["savings_usd"] == pytest.approx(expected)


def test_unknown_person_is_a_clear_error(acme: Engine, acme_config, prices) -> None:
    with pytest.raises(UnknownPerson, match="nobody@acme.test is not in the directory"):
        me(acme, acme_config, prices, "nobody@acme.test", "2026-W47")


def test_adding_an_alias_later_reattributes_without_reingesting(acme: Engine, acme_config, prices) -> None:
    from bot.config.org import parse_config
    from bot.people.directory import sync_directory

    raw = acme_config.model_dump(mode="json")
    raw["people"][0]["aliases"]["github"] = []  # Ana's GitHub login unknown: her merges are nobody's
    sync_directory(acme, parse_config(raw))
    assert me(acme, acme_config, prices, "ana@acme.test", "2026-W47")["outcomes"]["pr_merged"] == 0
    sync_directory(acme, acme_config)
    assert me(acme, acme_config, prices, "ana@acme.test", "2026-W47")["outcomes"]["pr_merged"] == 3
