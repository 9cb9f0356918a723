"""Spend linked to outcomes: direct names win, then open windows split evenly, the rest stays unlinked."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.facts import UsageFact
from bot.core.judgement_facts import UsageDay, WorkItem
from bot.core.linking import DIRECT, UNLINKED, WINDOW, Link, link_spend, link_totals, outcome_costs, usage_day
from bot.core.prices import PriceTable

MON = date(2026, 3, 2)
OPUS, SONNET = "claude-opus-4-6", "claude-sonnet-4-6"


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, 2 + day, hour, tzinfo=UTC)


def pr(name: str, person: int, opened: int, merged: int, **extra: object) -> WorkItem:
    return WorkItem(key=f"github:acme/api#{name}:merged", source="pr", person_id=person, ref=f"acme/api#{name}",
                    opened_at=at(opened), merged_at=at(merged), **extra)  # type: ignore[arg-type]


def spend(person: int, day: int, amount: float, model: str = OPUS, link: str | None = None) -> UsageDay:
    return UsageDay(person, MON + timedelta(days=day), model, "frontier" if model == OPUS else "standard", amount, link)


def test_one_open_outcome_takes_the_whole_day() -> None:
    links = link_spend([spend(1, 1, 9.0)], [pr("1", 1, 0, 2)])
    assert links == [Link(1, MON + timedelta(days=1), OPUS, "frontier", 9.0, WINDOW, "github:acme/api#1:merged")]


def test_several_open_outcomes_split_evenly_and_other_peoples_are_not_theirs() -> None:
    items = [pr("1", 1, 0, 2), pr("2", 1, 1, 1), pr("3", 2, 0, 5),
             WorkItem(key="jira:ABC-1", source="jira", person_id=1, ref="ABC-1", opened_at=at(1), closed_at=at(3))]
    links = link_spend([spend(1, 1, 9.0)], items)
    assert {(link.outcome, link.amount_usd, link.how) for link in links} == {
        ("github:acme/api#1:merged", 3.0, WINDOW), ("github:acme/api#2:merged", 3.0, WINDOW),
        ("jira:ABC-1", 3.0, WINDOW),
    }


def test_a_day_with_nothing_open_stays_unlinked() -> None:
    links = link_spend([spend(1, 4, 5.0), spend(2, 1, 1.0)], [pr("1", 1, 0, 2)])
    assert [(link.person_id, link.how, link.outcome, link.amount_usd) for link in links] == [
        (1, UNLINKED, None, 5.0), (2, UNLINKED, None, 1.0)]


def test_a_direct_link_wins_over_windows_and_an_unknown_name_falls_back() -> None:
    items = [pr("1", 1, 0, 2, branch="feat/cart", fixes=("ABC-7",)), pr("2", 1, 0, 2),
             WorkItem(key="jira:ABC-7", source="jira", person_id=2, ref="ABC-7", opened_at=at(0), closed_at=at(9))]
    links = link_spend([spend(1, 1, 4.0, link="feat/CART"), spend(1, 1, 6.0, link="ABC-7"),
                        spend(1, 1, 2.0, link="no-such-branch")], items)
    found = sorted((link.outcome or "", link.amount_usd, link.how) for link in links)
    assert found == sorted([
        ("github:acme/api#1:merged", 4.0, DIRECT),  # the branch, case aside
        ("github:acme/api#1:merged", 3.0, DIRECT), ("jira:ABC-7", 3.0, DIRECT),  # the ticket and the PR closing it
        ("github:acme/api#1:merged", 1.0, WINDOW), ("github:acme/api#2:merged", 1.0, WINDOW),
    ])


def test_a_ticket_without_an_in_progress_time_is_open_on_its_done_day_only_and_reverts_take_nothing() -> None:
    items = [WorkItem(key="jira:ABC-1", source="jira", person_id=1, ref="ABC-1", closed_at=at(3)),
             pr("R", 1, 0, 5, reverts="github:acme/api#9:merged")]
    links = link_spend([spend(1, 2, 1.0), spend(1, 3, 2.0)], items)
    assert [(link.day.day, link.how, link.outcome) for link in links] == [
        (4, UNLINKED, None), (5, WINDOW, "jira:ABC-1")]


def test_cost_per_outcome_by_tier_model_and_how_linked() -> None:
    items = [pr("1", 1, 0, 2, branch="b1")]
    links = link_spend([spend(1, 0, 10.0), spend(1, 1, 2.0, SONNET), spend(1, 2, 3.0, link="b1")], items)
    cost = outcome_costs(links)["github:acme/api#1:merged"]
    assert (cost.total_usd, cost.direct_usd, cost.window_usd) == (15.0, 3.0, 12.0)
    assert cost.by_tier == {"frontier": 13.0, "standard": 2.0}
    assert cost.by_model == {OPUS: 13.0, SONNET: 2.0}
    assert cost.model_tiers == {OPUS: "frontier", SONNET: "standard"}
    totals = link_totals(links + link_spend([spend(1, 9, 5.0)], items))
    assert (totals.direct_usd, totals.window_usd, totals.unlinked_usd, totals.spend_usd) == (3.0, 12.0, 5.0, 20.0)
    assert (totals.share(DIRECT), totals.share(WINDOW), totals.share(UNLINKED)) == (0.15, 0.6, 0.25)


def test_usage_days_from_counted_usage() -> None:
    prices = PriceTable.builtin()
    fact = UsageFact(1, MON, "anthropic", "claude_code", "claude-opus-4-6-20260101", 1_000_000, 0, 0, 0, 1, None)
    assert usage_day(fact, prices, link="ABC-1") == UsageDay(1, MON, fact.model, "frontier", 5.0, "ABC-1")
    assert usage_day(UsageFact(None, MON, "anthropic", "api", OPUS, 1, 0, 0, 0, 1, None), prices) is None
    assert usage_day(UsageFact(1, MON, "x", "api", "mystery", 1, 0, 0, 0, 1, None), prices) is None
    assert usage_day(UsageFact(1, MON, "x", "api", "mystery", 1, 0, 0, 0, 1, 2.5), prices) == UsageDay(
        1, MON, "mystery", "unknown", 2.5)


names = st.sampled_from(["acme/api#0", "acme/api#1", "ABC-1", "b2", "nothing", None])
usage_records = st.lists(st.builds(
    UsageDay, st.integers(1, 3), st.dates(MON, MON + timedelta(days=9)), st.sampled_from([OPUS, SONNET]),
    st.just("frontier"), st.floats(0, 500, allow_nan=False).map(lambda v: round(v, 2)), names,
), max_size=30)


@st.composite
def work_items(draw: st.DrawFn) -> list[WorkItem]:
    found = []
    for n in range(draw(st.integers(0, 6))):
        person, start, length = draw(st.integers(1, 3)), draw(st.integers(0, 9)), draw(st.integers(0, 4))
        if draw(st.booleans()):
            found.append(pr(str(n), person, start, start + length, branch=f"b{n}"))
        else:
            found.append(WorkItem(key=f"jira:ABC-{n}", source="jira", person_id=person, ref=f"ABC-{n}",
                                  opened_at=at(start) if draw(st.booleans()) else None, closed_at=at(start + length)))
    return found


@settings(max_examples=150, deadline=None)
@given(usage_records, work_items())
def test_linked_plus_unlinked_is_the_spend_of_every_person_day(usage: list[UsageDay], items: list[WorkItem]) -> None:
    spent: dict[tuple[int, date], float] = defaultdict(float)
    for u in usage:
        spent[(u.person_id, u.day)] += u.spend_usd
    accounted: dict[tuple[int, date], float] = defaultdict(float)
    for link in link_spend(usage, items):
        assert (link.outcome is None) == (link.how == UNLINKED)
        accounted[(link.person_id, link.day)] += link.amount_usd
    assert spent.keys() == accounted.keys()
    for key, amount in spent.items():
        assert math.isclose(accounted[key], amount, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(usage_records, work_items(), st.randoms(use_true_random=False))
def test_the_order_of_records_changes_nothing(usage: list[UsageDay], items: list[WorkItem], rnd) -> None:  # type: ignore[no-untyped-def]
    links = link_spend(usage, items)
    shuffled_usage, shuffled_items = list(usage), list(items)
    rnd.shuffle(shuffled_usage)
    rnd.shuffle(shuffled_items)
    again = link_spend(shuffled_usage, shuffled_items)
    assert again == links
    assert outcome_costs(reversed(again)) == outcome_costs(links) and link_totals(again[::-1]) == link_totals(links)
