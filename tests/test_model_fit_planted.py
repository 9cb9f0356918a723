"""A generated org with a planted truth is found exactly: the standard tier fits trivial and small PRs (same
rework, a third of the cost), and not large ones (three times the rework)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.org import OrgConfig, parse_config
from bot.core.judgement import Judgement, judge
from bot.core.model_fit import top_finding
from tests.planted_org import AS_OF, MAINTAINER, SINCE, START, generate, planted_weekly_saving

PLANTED = generate()
CONFIG = OrgConfig()


def judged(config: OrgConfig = CONFIG, as_of=AS_OF, items=PLANTED.items, usage=PLANTED.usage) -> Judgement:  # type: ignore[no-untyped-def]
    return judge(items, usage, config, SINCE, as_of)


RESULT = judged()


def test_the_recommendation_appears_for_trivial_and_small_only() -> None:
    found = {f.work_class: f for f in RESULT.findings}
    assert set(found) == {"trivial", "small", "medium", "large"}
    assert {name for name, f in found.items() if f.recommendation} == {"trivial", "small"}
    for name in ("trivial", "small"):
        rec = found[name].recommendation
        assert rec is not None and (rec.model, rec.tier) == ("claude-sonnet-4-6", "standard")
        planted = planted_weekly_saving(PLANTED.frontier_spend[name])
        assert rec.weekly_saving_low_usd < planted < rec.weekly_saving_high_usd
        assert rec.weekly_saving_usd == pytest.approx(planted)
        assert rec.cheaper.cost_median == pytest.approx(rec.frontier.cost_median / 3)
        evidence = (rec.frontier.outcomes, rec.frontier.people, rec.cheaper.outcomes, rec.cheaper.people)
        assert evidence == (60, 12, 60, 12)
        assert rec.frontier.rework_rate == rec.cheaper.rework_rate == 0.1


def test_large_prs_get_no_recommendation_and_say_why() -> None:
    large = next(f for f in RESULT.findings if f.work_class == "large")
    assert large.recommendation is None
    assert large.reason == ("no recommendation for large work: standard-tier outcomes were reworked more (30% of 60) "
                            "than frontier-tier ones (10% of 60, 95% interval up to 20%)")
    medium = next(f for f in RESULT.findings if f.work_class == "medium")
    assert medium.recommendation is None and "not enough data" in medium.reason
    assert [c.note for c in RESULT.table if c.work_class == "medium"] == ["not enough data"] * 2


def test_the_top_finding_is_the_largest_saving_and_names_model_setting_and_evidence() -> None:
    top = top_finding(RESULT.findings)
    assert top is not None and top.work_class == "small" and top.recommendation is not None
    assert any("/model claude-sonnet-4-6" in s and "settings.json" in s for s in top.recommendation.settings)
    assert top.reason.startswith("small work: default to claude-sonnet-4-6. On the standard tier an outcome cost "
                                 "$4.00 (median of 60 from 12 people) against $12.00 on frontier (60 from 12 people), "
                                 "reworked 10% against 10% (95% interval 5%–20%); about $")
    assert top.reason.endswith("a week (estimate: correlation in this org's own outcomes, not a controlled experiment)")


def test_the_planted_rework_and_linking_are_found() -> None:
    summary = RESULT.rework
    assert (summary.merged_prs, summary.closed_tickets) == (6 * 60 + 8 + 32, 16)
    assert (summary.reverted, summary.fixed_after, summary.reopened) == (16, 32, 0)
    assert summary.provisional == 0
    charged = {o.verdict.person_id for o in RESULT.outcomes if o.verdict.rework}
    assert MAINTAINER not in charged  # the fixer is never charged: the original author is
    linked = RESULT.linked
    assert linked.unlinked_usd == pytest.approx(12 * 5.0) and linked.direct_usd == 0.0
    assert linked.spend_usd == pytest.approx(sum(u.spend_usd for u in PLANTED.usage))


def test_before_the_windows_close_nothing_is_evidence_and_figures_are_provisional() -> None:
    early = judged(as_of=START + timedelta(days=20))
    assert early.rework.provisional > 0
    assert early.table == () and all(f.recommendation is None for f in early.findings)


def test_stricter_thresholds_withhold_the_recommendation() -> None:
    assert not any(f.recommendation for f in judged(parse_config({"model_fit": {"min_outcomes": 61}})).findings)
    floor = parse_config({"policy": {"min_group_size": 13}})
    assert not any(f.recommendation for f in judged(floor).findings)
    by_kind = judged(parse_config({"model_fit": {"group_by": "kind_and_size"}}))
    assert {f.work_class for f in by_kind.findings if f.recommendation} == {"trivial feat", "small feat"}


@settings(max_examples=5, deadline=None)
@given(st.randoms(use_true_random=False))
def test_reordering_the_records_changes_nothing(rnd) -> None:  # type: ignore[no-untyped-def]
    items, usage = list(PLANTED.items), list(PLANTED.usage)
    rnd.shuffle(items)
    rnd.shuffle(usage)
    assert judged(items=items, usage=usage) == RESULT
