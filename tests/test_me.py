"""`me` for the sample org, against figures worked out by hand from the fixture files."""

from __future__ import annotations

import dataclasses
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
    read = asker_in_a_team_of(5, 0)
    mine = read.team.figures[(0, str(W47))]
    frontier = dataclasses.replace(mine, savings_usd=12.5, spend_by_tier={"frontier": 100.0})
    figures = {**read.team.figures, (0, str(W47)): frontier}
    report = me_of(AskerWeeks(read.person, 0, TeamWeeks(read.team.members, read.team.weeks, figures)), W47, Policy())
    assert "Price-ratio ceiling: your frontier work would cost $12.50 less on the standard tier (a ceiling, not a " \
        "saving:" in me_text(report)
    # no line says zero: without frontier spend there is no savings line at all (it used to say "$0.00")
    assert "ceiling" not in me_text(me_of(read, W47, Policy()))


def test_me_judges_the_askers_work_on_both_databases(acme: Engine, acme_config, prices) -> None:
    """On SQLite and PostgreSQL: the asker's own classes from the org's stored work; a team of three shows no cell."""
    from datetime import UTC, datetime

    from bot.answers.fit import work_fit
    from bot.answers.me import read_me

    with session_scope(acme) as session:
        read = read_me(session, acme_config, prices, "cara@acme.test", [W47])
        fit = work_fit(session, acme_config, prices, read, W47, datetime(2026, 12, 2, tzinfo=UTC))
    assert str(fit.as_of) == "2026-11-22" and fit.weeks == 8
    assert sum(c.outcomes for c in fit.classes) >= 5  # her merged PRs of the 8 weeks, each in a class
    assert all(not c.team and c.recommendation is None and c.held is None for c in fit.classes)


def test_the_teams_work_judges_like_the_orgs(acme: Engine, acme_config, prices) -> None:
    """`me` reads only the work that can bear on the team's spend; the verdicts and cells are the org-wide ones."""
    from datetime import UTC, datetime

    from bot.core.judgement import judge
    from bot.reads.person_weeks import team_work
    from bot.reads.work import usage_days, work_items

    start, end = datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    with session_scope(acme) as session:
        ids = [p.id for p in session.exec(__import__("sqlmodel").select(Person).where(Person.team == "platform"))]
        org, team = work_items(session, start, end), team_work(session, start, end, ids)
        usage = usage_days(session, ids, start.date(), end.date(), prices)
    assert {i.key for i in team} <= {i.key for i in org}  # (one repository here: the rows of other repos are not read)
    assert {i.key for i in org if i.person_id in ids} <= {i.key for i in team}
    by_org, by_team = (judge(items, usage, acme_config, start.date(), end) for items in (org, team))
    mine = [o for o in by_org.outcomes if o.verdict.person_id in ids]
    assert [o for o in by_team.outcomes if o.verdict.person_id in ids] == mine and mine
    assert by_team.table == by_org.table and by_team.linked == by_org.linked


@pytest.fixture
def seated(acme_engine: Engine) -> Engine:
    """The sample org with Copilot seats (first snapshot 2026-11-20) and its merged PRs."""
    ingest_paths(acme_engine, [FIXTURES / "copilot_billing_seats.json", FIXTURES / "github_pulls.json"])
    return acme_engine


def test_a_seat_only_persons_me_text_and_json_show_the_same_cost_and_yield(seated: Engine, acme_config,
                                                                            prices) -> None:
    """Fay has no metered usage, a Copilot seat and merged PRs: her yield is over her seat cost, in every form."""
    with session_scope(seated) as session:
        report = me_report(session, acme_config, prices, "fay@acme.test", W47)
    figures, text = report.as_json(), me_text(report)
    seats = 3 * 19 * 12 / 365  # Friday to Sunday at $19 a month
    assert figures["seat_cost_usd"] == pytest.approx(seats) and figures["cost_usd"] == pytest.approx(seats)
    assert report.figures.yield_per_100usd == figures["yield_per_100usd"] == pytest.approx(
        figures["outcome_points"] / seats * 100)
    assert f"Yield: {ratio(figures['yield_per_100usd'])} points per $100" in text
    assert "AI cost: $1.87: seats only" in text and "AI spend" not in text  # no line says $0.00


def test_a_metered_person_with_a_seat_sees_both_apart_and_together(seated: Engine, acme_config, prices) -> None:
    ingest_paths(seated, [FIXTURES / "claude_code_analytics"])
    with session_scope(seated) as session:
        report = me_report(session, acme_config, prices, "ana@acme.test", W47)
    text, f = me_text(report), report.figures
    assert f"AI cost: ${f.spend_usd + f.seat_cost_usd:,.2f}: ${f.spend_usd:,.2f} metered + $1.87 seats" in text
    assert report.as_json()["yield_per_100usd"] == pytest.approx(9 / (39.5386 + 3 * 19 * 12 / 365) * 100)


def test_configured_seat_prices_apply_in_me(seated: Engine, acme_config: OrgConfig, prices) -> None:
    dearer = acme_config.model_copy(update={"seats": {**acme_config.seats, "copilot_business": 39.0}})
    with session_scope(seated) as session:
        report = me_report(session, dearer, prices, "fay@acme.test", W47)
    assert report.seat_cost_usd == pytest.approx(3 * 39 * 12 / 365)


def test_the_team_middle_and_band_measure_yield_against_seats_too() -> None:
    """A seat-only week has a yield (its cost is the seat), and a seat lowers a metered week's yield."""
    seat_only = PersonWeek(week="2026-W47", outcome_points=9.0, seat_cost_usd=4.5, active=True)
    both = PersonWeek(week="2026-W47", spend_usd=10.0, outcome_points=9.0, seat_cost_usd=5.0, active=True)
    assert seat_only.yield_per_100usd == pytest.approx(200.0)
    assert both.yield_per_100usd == pytest.approx(60.0)
    read = asker_in_a_team_of(6, asker=0)
    weeks = {**read.team.figures, (0, str(W47)): seat_only, **{(i, str(W47)): both for i in range(1, 6)}}
    report = me_of(AskerWeeks(read.person, 0, TeamWeeks(read.team.members, read.team.weeks, weeks)), W47, Policy())
    assert report.team is not None and report.team.median_yield_per_100usd == pytest.approx(60.0)
    assert report.at_or_above_middle  # the seat-only asker's 200 stands against the team's 60


def test_a_period_and_the_trend_count_seats_in_cost_and_yield(seated: Engine, acme_config, prices) -> None:
    from bot.answers.as_json import answer_json
    from bot.answers.me import me_reports, read_me
    from bot.answers.text import period_text, plain_text
    from bot.answers.types import TrendAnswer

    weeks = [W47.shift(-1), W47]
    with session_scope(seated) as session:
        reports = me_reports(read_me(session, acme_config, prices, "fay@acme.test", weeks), weeks, acme_config.policy)
    text = period_text(reports)
    assert "2026-W47: $1.87 cost (seats only), 6 points, yield 320.2" in text  # 6 / 1.8740 × 100
    assert "Total: $1.87 cost (seats only), 9 points, yield 480.3 per $100" in text  # the seat began on 11-20
    trend = TrendAnswer(tuple(r.figures for r in reports))
    assert "2026-W47: $1.87 cost (seats only), 6 points" in plain_text(trend)
    latest = answer_json(trend)["weeks"][-1]
    assert latest["cost_usd"] == pytest.approx(3 * 19 * 12 / 365, abs=1e-4)
    assert latest["yield_per_100usd"] == pytest.approx(6 / (3 * 19 * 12 / 365) * 100)
