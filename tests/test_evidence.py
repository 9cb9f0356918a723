"""The evidence table and the evidence rule: Wilson intervals, quartiles, the thresholds, and when a cheaper
tier earns a recommendation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.org import ModelFit
from bot.core.evidence import JudgedOutcome, dominant, evidence_table, quartiles, wilson
from bot.core.linking import OutcomeCost
from bot.core.model_fit import ceiling, findings, own_fit, settings_for
from bot.core.rework import Verdict
from bot.core.work import WorkClass

T0 = datetime(2026, 1, 5, tzinfo=UTC)
AS_OF = T0 + timedelta(days=90)
FIT = ModelFit()
MODEL = {"frontier": "claude-opus-4-6", "standard": "claude-sonnet-4-6", "economy": "claude-haiku-4-5"}


def outcome(n: int, person: int | None, tier: str, cost: float, reworked: bool = False, size: str = "small",
            finished: datetime = T0, other: dict[str, float] | None = None) -> JudgedOutcome:
    verdict = Verdict(f"k{n}", "pr", person, finished, finished + timedelta(days=21), 3.0,
                      rework="reverted" if reworked else None)
    by_model = {MODEL[tier]: cost, **(other or {})}
    tiers = {m: next(t for t, name in MODEL.items() if name == m) for m in by_model}
    by_tier: dict[str, float] = {}
    for m, amount in by_model.items():
        by_tier[tiers[m]] = by_tier.get(tiers[m], 0.0) + amount
    cost_of = OutcomeCost(sum(by_model.values()), 0.0, sum(by_model.values()), by_tier, by_model, tiers)
    return JudgedOutcome(verdict, WorkClass("feat", size, "feat: x", f"{size}: x"), cost_of)


def cell_of(count: int, people: int, tier: str, cost: float, reworked: int = 0, start: int = 0,
            size: str = "small") -> list[JudgedOutcome]:
    return [outcome(start + i, i % people, tier, cost * (0.8 + 0.4 * (i % 5) / 4), i < reworked, size)
            for i in range(count)]


def test_wilson_interval_matches_known_values() -> None:
    low, high = wilson(6, 60)
    assert (round(low, 4), round(high, 4)) == (0.0466, 0.2015)
    assert wilson(0, 10)[0] == 0.0 and round(wilson(0, 10)[1], 4) == 0.2775
    assert round(wilson(10, 10)[0], 4) == 0.7225 and wilson(10, 10)[1] == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)


def test_quartiles_and_dominant() -> None:
    assert quartiles(range(1, 10)) == (3, 5, 7)
    assert quartiles([4.0]) == (4.0, 4.0, 4.0)
    assert dominant({"standard": 5.0, "frontier": 5.0}, ("frontier", "standard")) == "frontier"  # a tie: the dearer
    assert dominant({"standard": 6.0, "frontier": 5.0}, ("frontier", "standard")) == "standard"
    assert dominant({"frontier": 0.0}, ("frontier",)) is None


def test_a_cell_needs_enough_outcomes_from_enough_people() -> None:
    table = evidence_table(
        cell_of(9, 5, "frontier", 10.0) + cell_of(10, 4, "standard", 3.0, start=100)
        + cell_of(10, 5, "economy", 1.0, reworked=2, start=200), FIT, 5, AS_OF)
    assert [(c.work_class, c.tier, c.note) for c in table] == [
        ("small", "frontier", "not enough data"), ("small", "standard", "not enough data"), ("small", "economy", "")]
    assert table[0].figures is None and table[1].figures is None  # nothing of a small cell is shown
    economy = table[2].figures
    assert economy is not None
    assert (economy.outcomes, economy.people, economy.reworked, economy.rework_rate) == (10, 5, 2, 0.2)
    assert (economy.cost_q1, economy.cost_median, economy.cost_q3) == pytest.approx((0.9, 1.0, 1.1))
    assert economy.linked_usd == pytest.approx(10.0)


def test_unsettled_personless_and_unlinked_outcomes_are_no_evidence() -> None:
    late = [outcome(i, i % 5, "frontier", 1.0, finished=AS_OF - timedelta(days=3)) for i in range(10)]
    nobody = [outcome(20 + i, None, "frontier", 1.0) for i in range(10)]
    free = [JudgedOutcome(o.verdict, o.work_class, OutcomeCost()) for o in cell_of(10, 5, "frontier", 1.0, start=40)]
    assert evidence_table(late + nobody + free, FIT, 5, AS_OF) == []


def test_an_outcome_counts_under_the_tier_and_model_that_carried_most_of_it() -> None:
    mixed = [outcome(i, i % 5, "standard", 3.0, other={MODEL["frontier"]: 1.0}) for i in range(10)]
    table = evidence_table(mixed, FIT, 5, AS_OF, by_model=True)
    assert [(c.tier, c.model) for c in table] == [("standard", MODEL["standard"])]
    assert table[0].figures is not None and table[0].figures.cost_median == 4.0


def test_a_cheaper_tier_with_lower_cost_and_no_more_rework_is_recommended() -> None:
    judged = cell_of(20, 5, "frontier", 12.0, reworked=2) + cell_of(20, 5, "standard", 4.0, reworked=3, start=100)
    [finding] = findings(judged, FIT, 5, AS_OF, period_weeks=2)
    rec = finding.recommendation
    assert rec is not None and (rec.model, rec.tier) == (MODEL["standard"], "standard")
    frontier_spend = sum(o.cost.total_usd for o in judged[:20])
    assert rec.weekly_saving_usd == pytest.approx(frontier_spend * (1 - 4 / 12) / 2)
    assert rec.weekly_saving_low_usd <= rec.weekly_saving_usd <= rec.weekly_saving_high_usd
    assert (rec.frontier.outcomes, rec.frontier.people, rec.cheaper.rework_rate) == (20, 5, 0.15)
    assert "estimate" in rec.label and "not a controlled experiment" in rec.label
    assert "default to claude-sonnet-4-6" in finding.reason and "20 from 5 people" in finding.reason


def test_no_recommendation_when_the_cheaper_tier_reworks_more_or_costs_no_less() -> None:
    reworks = cell_of(20, 5, "frontier", 12.0, reworked=1) + cell_of(20, 5, "standard", 4.0, reworked=8, start=100)
    [finding] = findings(reworks, FIT, 5, AS_OF, 1)
    assert finding.recommendation is None
    assert finding.reason.startswith("no recommendation for small work: standard-tier outcomes were reworked more "
                                     "(40% of 20) than frontier-tier ones (5% of 20, 95% interval up to 24%)")
    dear = cell_of(20, 5, "frontier", 4.0) + cell_of(20, 5, "standard", 4.0, start=100)
    [finding] = findings(dear, FIT, 5, AS_OF, 1)
    assert finding.recommendation is None and "cost no less ($4.00 against $4.00 per outcome)" in finding.reason
    both = reworks + cell_of(20, 5, "economy", 20.0, start=200)
    [finding] = findings(both, FIT, 5, AS_OF, 1)
    assert "reworked more" in finding.reason  # the rework reason is the one that is said


def test_the_cheapest_tier_that_fits_and_saves_most_wins() -> None:
    judged = (cell_of(20, 5, "frontier", 12.0) + cell_of(20, 5, "standard", 6.0, start=100)
              + cell_of(20, 5, "economy", 2.0, start=200))
    [finding] = findings(judged, FIT, 5, AS_OF, 1)
    assert finding.recommendation is not None and finding.recommendation.model == MODEL["economy"]


def test_the_price_ratio_figure_is_only_a_labelled_ceiling_and_settings_name_the_tools() -> None:
    assert ceiling(307.53).label.startswith("ceiling, not a saving")
    claude = settings_for("claude-sonnet-4-6")
    assert claude[0] == 'Claude Code: `/model claude-sonnet-4-6` in a session, or "model": "claude-sonnet-4-6" in ' \
                        "settings.json"
    assert any(s.startswith("Cursor: make claude-sonnet-4-6 the default") for s in claude)
    assert any(s.startswith("LiteLLM:") and "alias" in s and "router rule" in s for s in claude)
    assert not any("Claude Code" in s for s in settings_for("gpt-5"))


def test_own_fit_tells_a_person_on_the_frontier_and_one_who_already_fits() -> None:
    judged = cell_of(20, 5, "frontier", 12.0) + cell_of(20, 5, "standard", 4.0, start=100)
    found = findings(judged, FIT, 5, AS_OF, 1)
    heavy = judged[:20:5]  # person 0's frontier outcomes
    [mine] = own_fit(0, heavy, found, FIT)
    assert not mine.fits and mine.tier == "frontier" and "default to claude-sonnet-4-6" in mine.tip
    assert "/model claude-sonnet-4-6" in mine.tip
    [fits] = own_fit(0, judged[20:40:5], found, FIT)
    assert fits.fits and "already runs mostly on the standard tier" in fits.tip


cells = st.lists(st.tuples(
    st.integers(0, 9), st.sampled_from(["frontier", "standard", "economy"]), st.sampled_from(["trivial", "small"]),
    st.floats(0.01, 100, allow_nan=False), st.booleans(),
), max_size=80)


@settings(max_examples=150, deadline=None)
@given(cells, st.integers(5, 15), st.integers(5, 8))
def test_no_recommendation_from_a_cell_below_the_thresholds(rows, min_outcomes: int, floor: int) -> None:  # type: ignore[no-untyped-def]
    judged = [outcome(i, person, tier, cost, reworked, size) for i, (person, tier, size, cost, reworked)
              in enumerate(rows)]
    fit = ModelFit(min_outcomes=min_outcomes)
    for cell in evidence_table(judged, fit, floor, AS_OF):
        members = [o for o in judged if o.tier == cell.tier and o.work_class.size == cell.work_class]
        enough = len(members) >= min_outcomes and len({o.verdict.person_id for o in members}) >= floor
        assert (cell.figures is not None) == enough
    for finding in findings(judged, fit, floor, AS_OF, 1):
        rec = finding.recommendation
        if rec is not None:
            for figures in (rec.frontier, rec.cheaper):
                assert figures.outcomes >= min_outcomes and figures.people >= floor
            assert rec.cheaper.rework_rate <= rec.frontier.rework_high
            assert rec.cheaper.cost_median < rec.frontier.cost_median
    if len({p for p, *_ in rows}) < floor:
        assert not any(f.recommendation for f in findings(judged, fit, floor, AS_OF, 1))
