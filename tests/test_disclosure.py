"""The one disclosure function: group and subgroup floors with their complements, "other", middles, bands, kudos."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.disclosure import (
    Breakdown,
    Count,
    Figure,
    Middle,
    Named,
    Over,
    Ratio,
    Sheet,
    Standing,
    Total,
    disclose,
    middle,
    outside,
)

FLOOR = 5


def people(count: int, start: int = 0) -> frozenset[int]:
    return frozenset(range(start, start + count))


def test_a_figure_cannot_be_made_outside_the_disclosure_function() -> None:
    with pytest.raises(TypeError, match="only by bot.core.disclosure.disclose"):
        Figure("spend_usd", 1.0, 5)
    sheet = disclose(people(5), FLOOR, [Total("spend_usd", 10.0)])
    assert sheet.value("spend_usd") == 10.0 and Sheet.from_json(sheet.as_json()) == sheet


def test_the_floor_cannot_be_lowered() -> None:
    with pytest.raises(ValueError, match="at least 5"):
        disclose(people(5), 4, [])


def test_a_group_below_the_floor_shows_nothing_and_says_why() -> None:
    sheet = disclose(people(4), FLOOR, [Total("people_active", 4), Total("spend_usd", 10.0)])
    assert sheet.figures == () and not sheet.shown
    assert {w.key: w.reason for w in sheet.withheld} == {
        "people_active": "fewer than 5 people were active", "spend_usd": "fewer than 5 people were active"}


@pytest.mark.parametrize(("inside", "population", "shown"), [
    (0, 6, True), (6, 6, True),  # none and all are fine
    (1, 6, False), (5, 6, False),  # "1 of 6" is about one person; "5 of 6" leaves one outside
    (4, 9, False), (5, 9, False), (5, 10, True), (6, 12, True), (7, 12, True), (8, 12, False),
    (0, 4, False), (4, 4, False),  # about fewer than 5 people whatever the count
])
def test_a_subgroup_and_its_complement_each_hold_at_least_the_floor(inside: int, population: int,
                                                                     shown: bool) -> None:
    group = people(population)
    sheet = disclose(group, FLOOR, [Total("people_active", population), Count("signal:spike", people(inside)),
                                    Over("savings_usd", 3.0 * inside, people(inside))])
    assert (sheet.get("signal:spike") is not None) is shown
    assert (sheet.get("savings_usd") is not None) is shown
    assert (outside(people(inside), group, FLOOR) is None) is shown


def test_a_count_is_taken_among_the_people_it_could_be_about() -> None:
    group, without_points = people(10), people(3, start=7)  # seven shipped (public): three could be meant
    sheet = disclose(group, FLOOR, [Count("signal:spend_without_outcomes", people(1, start=7), without_points)])
    assert sheet.get("signal:spend_without_outcomes") is None
    assert sheet.reason("signal:spend_without_outcomes").reason == "it is about fewer than 5 people"  # type: ignore[union-attr]


def test_single_users_of_a_tool_are_merged_into_other_and_other_must_pass_too() -> None:
    group = people(12)
    parts = {"claude_code": (500.0, group), "cursor": (200.0, people(6)), "openai_api": (10.28, people(1, start=11))}
    sheet = disclose(group, FLOOR, [Breakdown("tool", parts)])
    # openai_api alone is one person; "other" of one person fails too, so cursor (the smallest shown) joins it
    assert [(f.key, f.value) for f in sheet.parts("tool")] == [("tool:claude_code", 500.0), ("tool:other", 210.28)]
    assert {w.key: w.merged_into for w in sheet.withheld} == {"tool:cursor": "tool:other",
                                                             "tool:openai_api": "tool:other"}


def test_a_breakdown_that_would_only_repeat_the_total_is_left_out() -> None:
    parts = {"claude_code": (50.0, people(5)), "openai_api": (4.38, people(1, start=5))}
    sheet = disclose(people(6), FLOOR, [Breakdown("tool", parts)])
    assert sheet.parts("tool") == () and sheet.reason("tool") is not None


@settings(max_examples=300, deadline=None)
@given(st.integers(5, 14), st.lists(st.tuples(st.floats(0.01, 1e4), st.sets(st.integers(0, 13), min_size=1)),
                                    min_size=1, max_size=5))
def test_no_shown_part_and_no_remainder_covers_a_subgroup_that_fails(size: int, raw: list) -> None:
    group = people(size)
    parts = {f"t{i}": (value, frozenset(m for m in members if m < size) or people(1)) for i, (value, members)
             in enumerate(raw)}
    sheet = disclose(group, FLOOR, [Breakdown("tool", parts)])
    shown = {f.key.split(":")[1]: f for f in sheet.parts("tool")}
    if not shown:
        return
    merged = [name for name in parts if name not in shown]
    assert sum(f.value for f in shown.values()) == pytest.approx(sum(v for v, _m in parts.values()))  # no remainder
    for name, _figure in shown.items():
        members = frozenset().union(*(parts[m][1] for m in merged)) if name == "other" else parts[name][1]
        assert outside(members, group, FLOOR) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=2, max_size=30), st.integers(0, 29),
       st.floats(0.001, 100))
def test_the_middle_is_never_one_persons_value(values: list[float], index: int, delta: float) -> None:
    ordered = sorted(values)
    count, centre = len(ordered), len(ordered) // 2
    picked = ordered[centre - 1:centre + 1] if count % 2 == 0 else ordered[centre - 1:centre + 2]
    assert middle(values) == pytest.approx(sum(picked) / len(picked))
    # Nobody's own value moves it one for one: raising one value moves the middle by at most half as much.
    raised = list(ordered)
    raised[index % count] += delta
    assert abs((middle(raised) or 0.0) - (middle(values) or 0.0)) <= delta / 2 + 1e-9


def test_an_odd_groups_middle_is_the_mean_of_its_middle_three() -> None:
    yields = {0: 1.0, 1: 2.0, 2: 4.0, 3: 9.0, 4: 20.0}
    sheet = disclose(people(5), FLOOR, [Middle("median_yield_per_100usd", yields)])
    assert sheet.value("median_yield_per_100usd") == pytest.approx(5.0) and 5.0 not in yields.values()


@pytest.mark.parametrize(("size", "band"), [
    (14, None), (15, "upper band (the 5 highest of 15)"), (18, "upper band (the 6 highest of 18)"),
])
def test_a_band_is_shown_only_when_every_band_is_a_group(size: int, band: str | None) -> None:
    yields = {i: float(i) for i in range(size)}
    sheet = disclose(people(size), FLOOR, [Standing("band", size - 1, yields)])
    found = sheet.get("band")
    assert (found.label if found else None) == band
    if band is None:
        assert "each of the three bands holds at least 5" in sheet.reason("band").reason  # type: ignore[union-attr]


def test_equal_yields_share_a_band_and_bands_are_named_by_their_size() -> None:
    yields = {i: 1.0 if i < 8 else float(i) for i in range(20)}
    lowest = disclose(people(20), FLOOR, [Standing("band", 0, yields)]).get("band")
    assert lowest is not None and lowest.label == "lower band (the 8 lowest of 20)"


@pytest.mark.parametrize(("named", "shown"), [(1, True), (6, True), (7, False), (10, False)])
def test_kudos_name_people_only_while_enough_stay_unnamed(named: int, shown: bool) -> None:
    sheet = disclose(people(11), FLOOR, [Named("kudos", {i: "1 merged PR" for i in range(named)})])
    assert (len(sheet.kudos) == named) is shown and (sheet.reason("kudos") is None) is shown


def test_a_share_needs_both_of_its_figures_and_savings_need_the_frontier_tier() -> None:
    group = people(6)
    sheet = disclose(group, FLOOR, [
        Total("spend_usd", 100.0), Breakdown("tier", {"standard": (60.0, group), "frontier": (40.0, people(3))}),
        Ratio("frontier_share", "tier:frontier", "spend_usd"),
        Over("savings_usd", 32.0, people(3), estimate=True, requires="tier:frontier"),
    ])
    assert sheet.get("frontier_share") is None and sheet.get("savings_usd") is None
    full = disclose(group, FLOOR, [
        Total("spend_usd", 100.0), Breakdown("tier", {"standard": (60.0, group), "frontier": (40.0, group)}),
        Ratio("frontier_share", "tier:frontier", "spend_usd"), Over("savings_usd", 32.0, group, estimate=True,
                                                                    requires="tier:frontier"),
    ])
    assert full.value("frontier_share") == pytest.approx(0.4)
    savings = full.get("savings_usd")
    assert savings is not None and savings.estimate and savings.people == 6
