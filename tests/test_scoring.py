"""Scoring: counted-once attribution, flags, and the properties every metric keeps."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot.answers.me import me_report
from bot.config.org import Flags, Policy
from bot.core.attribution import count_once
from bot.core.metrics import PersonWeek, person_week, yield_per_100usd
from bot.core.prices import PriceTable
from bot.core.signals import IdleSeat, idle_seats, person_flags, rework
from bot.core.weeks import Week
from bot.digest.build import build_digest
from bot.ingest.files import ingest_file
from bot.reads.queries import ActivityFact, OutcomeFact, SeatFact, UsageFact
from storage.engine import session_scope

PRICES = PriceTable.builtin()
POLICY = Policy()
DAY = date(2026, 11, 17)


def fact(source: str, model: str = "claude-opus-4-6", person: int | None = 1, billing: str | None = None,
         tokens: int = 1000, cost: float | None = None, day: date = DAY) -> UsageFact:
    return UsageFact(person, day, "anthropic", "claude_code", model, tokens, tokens, 0, 0, 1, cost, source, billing)


@pytest.mark.parametrize(
    ("facts", "winners"),
    [
        ([fact("anthropic_usage"), fact("claude_code", billing="api"), fact("claude_code_otel")], ["anthropic_usage"]),
        ([fact("claude_code", billing="api"), fact("claude_code_otel")], ["claude_code"]),
        ([fact("claude_code_otel")], ["claude_code_otel"]),
        ([fact("claude_code", billing="subscription"), fact("claude_code_otel")], ["claude_code"]),
        ([fact("claude_code", billing="subscription"), fact("anthropic_usage")], ["anthropic_usage", "claude_code"]),
        ([fact("anthropic_usage", model="claude-sonnet-4-6"), fact("claude_code", billing="api")],
         ["anthropic_usage", "claude_code"]),  # different models do not shadow each other
        ([fact("anthropic_usage", day=date(2026, 11, 16)), fact("claude_code", billing="api")],
         ["anthropic_usage", "claude_code"]),  # nor do different days
        ([fact("anthropic_usage", person=None), fact("claude_code", person=None, billing="api")],
         ["anthropic_usage", "claude_code"]),  # unattributed usage is not merged by person
    ],
)
def test_anthropic_usage_is_counted_once(facts: list[UsageFact], winners: list[str]) -> None:
    assert sorted(f.source for f in count_once(facts, PRICES.canonical)) == winners


def test_model_aliases_group_together() -> None:
    facts = [
        fact("anthropic_usage", model="claude-sonnet-4-6"),
        fact("claude_code", model="claude-4.6-sonnet", billing="api"),
    ]
    assert [f.source for f in count_once(facts, PRICES.canonical)] == ["anthropic_usage"]


usage_facts = st.builds(
    fact,
    source=st.sampled_from(["anthropic_usage", "claude_code", "claude_code_otel", "cursor_events", "litellm"]),
    model=st.sampled_from(["claude-opus-4-6", "claude-sonnet-4-6", "gpt-5-mini", "mystery-model"]),
    person=st.sampled_from([1, 2, None]),
    billing=st.sampled_from([None, "api", "subscription"]),
    tokens=st.integers(0, 10**9),
    cost=st.one_of(st.none(), st.floats(0, 1e6, allow_nan=False)),
    day=st.dates(date(2026, 11, 9), date(2026, 11, 22)),
)
outcome_facts = st.builds(
    OutcomeFact, person_id=st.just(1), week=st.just("2026-W47"),
    kind=st.sampled_from(["pr_merged", "pr_reverted", "ticket_closed"]), quantity=st.floats(0, 20, allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(usage_facts, max_size=30), st.randoms())
def test_count_once_is_order_independent_and_idempotent(facts: list[UsageFact], rng: random.Random) -> None:
    once = count_once(facts, PRICES.canonical)
    shuffled = facts[:]
    rng.shuffle(shuffled)
    assert sorted(map(repr, count_once(shuffled, PRICES.canonical))) == sorted(map(repr, once))
    assert sorted(map(repr, count_once(once, PRICES.canonical))) == sorted(map(repr, once))


@settings(max_examples=150, deadline=None)
@given(st.lists(usage_facts, max_size=30), st.lists(outcome_facts, max_size=10), st.randoms())
def test_person_week_does_not_depend_on_record_order(usage, outcomes, rng: random.Random) -> None:
    first = person_week("2026-W47", usage, outcomes, POLICY, PRICES)
    rng.shuffle(usage)
    rng.shuffle(outcomes)
    second = person_week("2026-W47", usage, outcomes, POLICY, PRICES)
    assert first.spend_usd == pytest.approx(second.spend_usd)
    assert first.outcome_points == pytest.approx(second.outcome_points)
    assert first.tokens == second.tokens and first.unpriced_models == second.unpriced_models


@settings(max_examples=150, deadline=None)
@given(st.floats(0, 1e4, allow_nan=False), st.floats(1, 1e5, allow_nan=False), st.floats(1.5, 100, allow_nan=False))
def test_multiplying_spend_by_k_divides_yield_by_k(points: float, spend: float, k: float) -> None:
    base, scaled = yield_per_100usd(points, spend), yield_per_100usd(points, spend * k)
    assert base is not None and scaled is not None
    assert scaled == pytest.approx(base / k)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(usage_facts, max_size=20), st.lists(outcome_facts, max_size=10),
    st.lists(st.floats(0, 1e5, allow_nan=False), max_size=4), st.one_of(st.none(), st.floats(0, 1e4, allow_nan=False)),
)
def test_no_input_makes_a_metric_raise(usage, outcomes, history, median) -> None:
    week = person_week("2026-W47", usage, outcomes, POLICY, PRICES)
    week.yield_per_100usd, week.frontier_share  # noqa: B018
    person_flags(week, history, median, [IdleSeat("business", 19.0)], Flags())
    rework([], week.outcomes["pr_reverted"])


def test_spend_without_outcomes_and_frontier_heavy() -> None:
    week = PersonWeek(
        "2026-W47", spend_usd=200.0, outcome_points=0.0, spend_by_tier={"frontier": 150.0, "standard": 50.0}
    )
    names = [f.name for f in person_flags(week, [], team_median_yield=10.0, seats=[], rules=Flags())]
    assert names == ["spend_without_outcomes", "frontier_heavy"]  # yield 0 < median 10 with 75% frontier
    week.spend_by_tier = {"frontier": 110.0, "standard": 90.0}  # 55%: below the 60% threshold
    assert [f.name for f in person_flags(week, [], team_median_yield=10.0, seats=[], rules=Flags())] == [
        "spend_without_outcomes"
    ]
    week.spend_by_tier = {"frontier": 150.0, "standard": 50.0}
    week.outcome_points = 3.0
    names = [f.name for f in person_flags(week, [], team_median_yield=10.0, seats=[], rules=Flags())]
    assert names == ["frontier_heavy"]
    assert [f.name for f in person_flags(week, [], team_median_yield=1.5, seats=[], rules=Flags())] == []
    assert [f.name for f in person_flags(week, [], team_median_yield=None, seats=[], rules=Flags())] == []


@pytest.mark.parametrize(
    ("history", "spend", "spike"),
    [([10, 0, 12, 0], 33.0, True), ([10, 0, 12, 0], 32.0, False), ([0, 0, 0, 10], 100.0, False), ([], 1000.0, False)],
)
def test_spike_needs_two_weeks_of_history(history: list[float], spend: float, spike: bool) -> None:
    week = PersonWeek("2026-W47", spend_usd=spend, outcome_points=9.0)
    names = [f.name for f in person_flags(week, history, None, [], Flags(spike_factor=3))]
    assert ("spike" in names) is spike  # median of 10 and 12 is 11: 33 >= 3 x 11


def test_idle_seat_is_a_paid_seat_unused_for_14_days() -> None:
    week = Week.parse("2026-W47")
    seen = lambda d: datetime(2026, 11, d, 12, tzinfo=UTC)  # noqa: E731
    seats = [
        SeatFact(1, date(2026, 11, 20), "business", 19.0, seen(1)),   # idle: 19 days
        SeatFact(1, date(2026, 11, 20), "business", 19.0, seen(10)),  # active 10 days ago
        SeatFact(1, date(2026, 11, 20), "business", 19.0, None),      # never used
        SeatFact(1, date(2026, 11, 20), "unknown", None, None),       # not paid
        SeatFact(1, date(2026, 11, 12), "business", 19.0, None),      # snapshot of another week
    ]
    assert idle_seats(seats, week) == [IdleSeat("business", 19.0), IdleSeat("business", 19.0)]


def test_rework_prefers_analytics_over_telemetry_on_the_same_day() -> None:
    facts = [
        ActivityFact(1, DAY, "claude_code", "edits_rejected", 5),
        ActivityFact(1, DAY, "claude_code_otel", "edits_rejected", 5),
        ActivityFact(1, date(2026, 11, 18), "claude_code_otel", "edits_rejected", 2),
        ActivityFact(1, DAY, "copilot_usage", "suggestions", 40),
        ActivityFact(1, DAY, "copilot_usage", "acceptances", 30),
    ]
    assert rework(facts, 1) == {"assistant_edits_rejected": 7, "prs_reverted": 1}  # Copilot declines: suggestion flow


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1e4, allow_nan=False), st.floats(-10, 50, allow_nan=False)),
                min_size=0, max_size=12), st.integers(5, 8))
def test_no_team_figure_covers_fewer_than_the_privacy_floor(people, floor: int) -> None:
    week = Week.parse("2026-W47")
    figures = {}
    for index, (active, spend, points) in enumerate(people):
        for back in range(8):
            w = week.shift(-back)
            figures[(index, str(w))] = PersonWeek(str(w), spend_usd=spend, outcome_points=points, active=active)
    digest = build_digest("t", week, figures, list(range(len(people))), floor)
    data = digest.as_json()
    if sum(active for active, _, _ in people) < floor:
        assert data["suppressed"] and data["spend_usd"] is None and data["people_active"] is None
        assert all(h["spend_usd"] is None for h in data["history"])
    *earlier, current = data["history"]
    assert (current["spend_usd"] is None) == (sum(a for a, _, _ in people) < floor)
    # Earlier weeks were never published, so they show nothing: never recomputed with today's members.
    assert all(entry["spend_usd"] is None and not entry["published"] for entry in earlier)


def test_revert_charge_lands_whichever_order_the_prs_arrive(
    acme_engine: Engine, acme_config, prices, tmp_path: Path
) -> None:
    pulls = json.loads((Path(__file__).parent / "fixtures" / "github_pulls.json").read_text())
    revert = [p for p in pulls if p["number"] == 1175]
    rest = [p for p in pulls if p["number"] != 1175]
    (tmp_path / "revert.json").write_text(json.dumps(revert))
    (tmp_path / "rest.json").write_text(json.dumps(rest))
    ingest_file(acme_engine, tmp_path / "revert.json")
    week = Week.parse("2026-W46")
    with session_scope(acme_engine) as session:
        assert me_report(session, acme_config, prices, "ben@acme.test", week).figures.outcomes["pr_reverted"] == 0
    ingest_file(acme_engine, tmp_path / "rest.json")
    with session_scope(acme_engine) as session:
        ben = me_report(session, acme_config, prices, "ben@acme.test", week)
        ana = me_report(session, acme_config, prices, "ana@acme.test", week)
    assert (
        ben.figures.outcomes["pr_merged"], ben.figures.outcomes["pr_reverted"], ben.figures.outcome_points
    ) == (1, 1, 0)
    assert ana.figures.outcomes["pr_merged"] == 2  # the revert itself is not a merge
    assert ben.rework["prs_reverted"] == 1


def test_a_revert_of_a_revert_charges_nobody(acme_engine: Engine, acme_config, prices, tmp_path: Path) -> None:
    def pr(number: int, login: str, ref: str, day: int) -> dict:
        return {"number": number, "title": f"t{number}", "merged_at": f"2026-11-{day}T10:00:00Z", "body": "",
                "user": {"login": login, "type": "User"}, "head": {"ref": ref},
                "base": {"repo": {"full_name": "acme/app"}}}

    pulls = [
        pr(1, "benb", "feature", 16),
        pr(2, "ana-acme", "revert-1-feature", 17),
        pr(3, "cara-codes", "revert-2-revert", 18),
    ]
    (tmp_path / "pulls.json").write_text(json.dumps(pulls))
    ingest_file(acme_engine, tmp_path / "pulls.json")
    week = Week.parse("2026-W47")
    with session_scope(acme_engine) as session:
        charged = {email: me_report(session, acme_config, prices, email, week).figures.outcomes["pr_reverted"]
                   for email in ("ana@acme.test", "ben@acme.test", "cara@acme.test")}
    assert charged == {"ana@acme.test": 0, "ben@acme.test": 1, "cara@acme.test": 0}


def test_sample_org_flags(acme_engine: Engine, acme_config, prices) -> None:
    fixtures = Path(__file__).parent / "fixtures"
    for path in sorted((fixtures / "claude_code_analytics").glob("*.json")) + [fixtures / "github_pulls.json"]:
        ingest_file(acme_engine, path)
    flags = {}
    with session_scope(acme_engine) as session:
        for person in acme_config.people:
            for week in ("2026-W46", "2026-W47"):
                report = me_report(session, acme_config, prices, person.email, Week.parse(week))
                flags[(person.email.split("@")[0], week)] = [f.name for f in report.flags]
    # Ben: $569 and 0 points in W46 (his merge was reverted); 1 merge in W47. Two weeks of history are
    # too few for a spike, and teams of three never get a median to compare against.
    assert {k: v for k, v in flags.items() if v} == {("ben", "2026-W46"): ["spend_without_outcomes"]}
