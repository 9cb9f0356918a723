"""`me` for the sample org, against figures worked out by hand from the fixture files."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from bot.answers.me import me_of, me_report
from bot.answers.text import me_text
from bot.config.org import OrgConfig, Policy
from bot.core.metrics import PersonWeek
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.digest.format import ratio
from bot.errors import UnknownPerson
from bot.ingest.files import ingest_paths
from bot.reads.person_weeks import AskerWeeks, TeamWeeks, span
from storage.engine import session_scope
from storage.models import Person
from tests.conftest import FIXTURES

W47 = Week.parse("2026-W47")


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


def asker_in_a_team_of(size: int, asker: int) -> AskerWeeks:
    """A team where member i spent $100 and scored i + 1 points in the week: distinct yields."""
    members = tuple(Person(id=i, email=f"p{i}@acme.test", name=f"P{i}", team="t") for i in range(size))
    figures = {(i, str(w)): PersonWeek(str(w), spend_usd=100.0, outcome_points=float(i + 1), active=True)
               for i in range(size) for w in span(W47.shift(-4), W47)}
    return AskerWeeks(members[asker], asker, TeamWeeks(members, span(W47.shift(-4), W47), figures))


def test_a_band_is_named_by_what_it_is_and_shown_only_when_every_band_is_a_group() -> None:
    report = me_of(asker_in_a_team_of(15, asker=14), W47, Policy())
    assert report.team is not None and report.team.band == "upper band (the 5 highest of 15)"
    text = me_text(report)
    assert "upper band (the 5 highest of 15)" in text and "quarter" not in text
    assert "Bands split the team's yields into thirds (lower, middle, upper), each holding at least 5 people" in text


@pytest.mark.parametrize("size", [5, 6, 14])
def test_without_bands_me_shows_the_askers_figure_beside_the_teams(size: int) -> None:
    report = me_of(asker_in_a_team_of(size, asker=0), W47, Policy())
    assert report.team is not None and report.team.band is None
    assert report.as_json()["team"]["band_withheld"].startswith("a band is shown only when each of the three bands")
    own = ratio(report.figures.yield_per_100usd)
    assert f"Your yield: {own} per $100, beside your team's (team middle" in me_text(report)
    assert "band (" not in me_text(report) and "quarter" not in me_text(report)


def test_the_team_middle_shown_in_me_is_no_members_own_yield() -> None:
    read = asker_in_a_team_of(7, asker=2)
    squares = {key: PersonWeek(week.week, spend_usd=100.0, outcome_points=float((key[0] + 1) ** 2), active=True)
               for key, week in read.team.figures.items()}  # yields 1, 4, 9, 16, 25, 36, 49
    report = me_of(AskerWeeks(read.person, 2, TeamWeeks(read.team.members, read.team.weeks, squares)), W47, Policy())
    assert report.team is not None and report.team.median_yield_per_100usd == pytest.approx(50 / 3)  # not 16
    assert report.team.middle_of == 7 and "the mean of the middle three of 7 yields" in me_text(report)


def test_savings_are_labelled_as_an_estimate_in_me() -> None:
    assert "would have saved an estimated $0.00 (estimate:" in me_text(me_of(asker_in_a_team_of(5, 0), W47, Policy()))
