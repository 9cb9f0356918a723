"""Brute force: no line a manager sees pins a private figure or flag to fewer than `min_group_size` people.

Teams of 5, 6, 9, 10 and 12 people. Each person shipped or not (public: who shipped what is known in the
org), and privately: opted in to kudos (only shippers can be named), spent at least $50 (only non-shippers
can then carry "spend without outcomes"), had a spend spike, and used one tool nobody else in the normal
way uses (a single-tool user of the OpenAI API, on the frontier tier). That is 16 kinds of person. Every
rule is blind to who is who, so every team is one multiset of kinds: teams of 5 and 6 are enumerated
completely (15,504 and 54,264 teams), larger ones sampled.

The manager's view is the digest's disclosed sheet (`week_sheet`, the pure function the digest is built
from), read the way an attacker would, with the public list of shippers and the kudos names:
- a count of a flag among the people it could be about (C) must not be about fewer than the floor
  (0 < k < floor) nor narrow it to a set smaller than the floor (|C| - k + 1 < floor), unless nobody or
  the whole team has it;
- every sum shown, and what the total minus the shown parts leaves, covers nobody, everybody, or at least
  the floor on each side;
- kudos names leave at least the floor unnamed;
- the team's middle yield is not one person's own yield;
- spend by model (each part, and the rest) and the rework line (issue 18: shippers with a spike also had their
  PR reverted) cover nobody, everybody, or at least the floor on each side.
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.disclosure import OTHER, Sheet
from bot.core.metrics import PersonWeek
from bot.core.rework import REVERTED, Verdict
from bot.digest.figures import Extras, week_sheet
from bot.digest.judged import WorkInputs

FLOOR = 5


@dataclass(frozen=True)
class Kind:
    shipped: bool
    opted_in: bool  # kudos; only matters for shippers
    big_spender: bool  # at least $50; only matters for non-shippers
    spike: bool
    single_tool: bool


KINDS = [Kind(True, opted, False, spike, single) for opted, spike, single in itertools.product((False, True), repeat=3)]
KINDS += [Kind(False, False, big, spike, single) for big, spike, single in itertools.product((False, True), repeat=3)]


@functools.cache
def person(pid: int, kind: Kind) -> PersonWeek:
    spend = (80.0 if kind.big_spender or kind.shipped else 20.0) + pid * 1.37
    tool, tier = ("openai_api", "frontier") if kind.single_tool else ("claude_code", "standard")
    points = 3.0 if kind.shipped else 0.0
    return PersonWeek("2026-W47", spend_usd=spend, outcome_points=points, spend_by_tool={tool: spend},
                      spend_by_tier={tier: spend}, savings_usd=spend * 0.8 if kind.single_tool else 0.0, active=True)


@functools.cache
def flags(kind: Kind) -> tuple[str, ...]:
    found = ("spike",) if kind.spike else ()
    return found + (("spend_without_outcomes",) if not kind.shipped and kind.big_spender else ())


MERGED = datetime(2026, 11, 17, 12, tzinfo=UTC)


@functools.cache
def verdict(pid: int, kind: Kind) -> Verdict:
    """A shipper's merged PR: reverted when they also had a spike."""
    return Verdict(f"pr-{pid}", "pr", pid, MERGED, MERGED + timedelta(days=21), 3.0,
                   rework=REVERTED if kind.spike else None, provisional=not kind.spike)


@functools.cache
def models(pid: int, kind: Kind) -> dict[str, float]:
    return {"frontier|gpt-5" if kind.single_tool else "standard|claude-sonnet-4-6": person(pid, kind).spend_usd}


def sheet_of(team: Sequence[Kind]) -> tuple[dict[int, PersonWeek], Sheet]:
    people = {pid: person(pid, kind) for pid, kind in enumerate(team)}
    work = WorkInputs(verdicts=tuple(verdict(pid, kind) for pid, kind in enumerate(team) if kind.shipped),
                      model_spend={pid: models(pid, kind) for pid, kind in enumerate(team)})
    extras = Extras(flags={pid: flags(kind) for pid, kind in enumerate(team)},
                    shipped={pid: "1 merged PR" for pid, kind in enumerate(team) if kind.shipped and kind.opted_in},
                    work=work)
    return people, week_sheet(people, FLOOR, extras)


def safe_subgroup(members: frozenset[int], everyone: frozenset[int]) -> bool:
    return not members or members == everyone or (len(members) >= FLOOR and len(everyone - members) >= FLOOR)


def pins(team: Sequence[Kind], shown: Sheet | None = None) -> list[str]:
    """Every way the manager's view (the digest's sheet, or `shown`) pins something private to fewer than
    FLOOR people (empty: none)."""
    people, sheet = sheet_of(team)
    sheet = shown or sheet
    everyone = frozenset(people)
    shippers = frozenset(pid for pid, kind in enumerate(team) if kind.shipped)  # public
    found = []
    named = frozenset(pid for pid, _shipped in sheet.kudos)
    if named and len(everyone - named) < FLOOR:
        found.append(f"kudos name {len(named)} of {len(everyone)}")
    could_be = {"spike": everyone, "spend_without_outcomes": everyone - shippers}
    for flag, candidates in could_be.items():
        count = sheet.get(f"signal:{flag}")
        if count is None:
            continue
        have = frozenset(pid for pid, kind in enumerate(team) if flag in flags(kind))
        k = int(count.value)
        assert k == len(have), "a count shown is the true count"
        if k and have != everyone and (k < FLOOR or len(candidates) - k + 1 < FLOOR):
            found.append(f"{k} of {len(candidates)} who could be meant have {flag}")
    for breakdown, attribute in (("tool", "spend_by_tool"), ("tier", "spend_by_tier")):
        found += _sums(people, sheet, breakdown, {pid: getattr(p, attribute) for pid, p in people.items()})
    found += _sums(people, sheet, "model", {pid: models(pid, kind) for pid, kind in enumerate(team)})
    reverted = frozenset(pid for pid, kind in enumerate(team) if kind.shipped and kind.spike)
    for key in ("rework:reworked", "rework:reverted", "rework_rate"):
        if sheet.get(key) is not None and not safe_subgroup(reverted, everyone):
            found.append(f"{key} over {len(reverted)} of {len(everyone)}")
    savings = sheet.get("savings_usd")
    savers = frozenset(pid for pid, p in people.items() if p.savings_usd > 0)
    if savings is not None and not safe_subgroup(savers, everyone):
        found.append(f"savings over {len(savers)} of {len(everyone)}")
    found += _middle(people, sheet)
    return found


def _sums(people: dict[int, PersonWeek], sheet: Sheet, breakdown: str, parts: dict[int, dict[str, float]]) -> list[str]:
    """Each part shown, and the total minus the parts shown, must cover a safe subgroup."""
    everyone = frozenset(people)
    users: dict[str, frozenset[int]] = {}
    for pid, own in parts.items():
        for name in own:
            users[name] = users.get(name, frozenset()) | {pid}
    shown = {f.key.split(":", 1)[1] for f in sheet.parts(breakdown)}
    named = shown - {OTHER}
    remainder = frozenset().union(*(members for name, members in users.items() if name not in named))
    groups = {name: users[name] for name in named}
    if shown:
        groups["other or the rest of the total"] = remainder
    return [f"{breakdown} {name} covers {len(members)} of {len(everyone)}"
            for name, members in groups.items() if not safe_subgroup(members, everyone)]


def _middle(people: dict[int, PersonWeek], sheet: Sheet) -> list[str]:
    shown = sheet.get("median_yield_per_100usd")
    if shown is None:
        return []
    owners = [pid for pid, p in people.items() if p.yield_per_100usd is not None
              and abs(p.yield_per_100usd - shown.value) < 1e-9]
    return [f"the middle yield is person {owners[0]}'s own"] if len(owners) == 1 else []


def every_team(size: int) -> Iterator[tuple[Kind, ...]]:
    return itertools.combinations_with_replacement(KINDS, size)


def sampled_teams(size: int, count: int) -> Iterator[tuple[Kind, ...]]:
    rng = random.Random(size)
    for _ in range(count):
        yield tuple(rng.choice(KINDS) for _ in range(size))


@pytest.mark.parametrize(("size", "share"), [(5, 0), (6, 0), (6, 1), (6, 2)])  # teams of 6 in thirds, in parallel
def test_every_team_of_five_and_six(size: int, share: int) -> None:
    shares = 1 if size == 5 else 3
    checked = 0
    for team in itertools.islice(every_team(size), share, None, shares):
        assert pins(team) == [], team
        checked += 1
    assert checked * shares == {5: 15_504, 6: 54_264}[size]


@pytest.mark.parametrize("size", [9, 10, 12])
def test_sampled_teams_of_nine_ten_and_twelve(size: int) -> None:
    shown_counts = 0
    for team in sampled_teams(size, 2500):
        assert pins(team) == [], team
        shown_counts += sheet_of(team)[1].get("signal:spike") is not None
    assert shown_counts > 0  # the rules still show counts where a team is big enough


def test_the_checker_sees_the_leaks_of_the_issue_when_the_rules_are_not_applied() -> None:
    """Five of six opted in and named, the sixth spent $50 with no points, and she alone used the OpenAI API."""
    team = [Kind(True, True, False, False, False)] * 5 + [Kind(False, False, True, True, True)]
    people, sheet = sheet_of(team)
    assert pins(team) == [] and sheet.kudos == () and sheet.parts("tool") == ()
    assert {"kudos", "signal:spend_without_outcomes", "signal:spike", "tool"} <= {w.key for w in sheet.withheld}
    spend = people[5].spend_usd
    naive = Sheet.from_json({"floor": FLOOR, "withheld": [], "kudos": [[pid, "1 merged PR"] for pid in range(5)],
                             "figures": [
                                 {"key": key, "value": value, "people": 6, "estimate": False, "label": ""}
                                 for key, value in [("people_active", 6), ("signal:spend_without_outcomes", 1),
                                                    ("signal:spike", 1), ("tool:openai_api", spend),
                                                    ("tool:claude_code", sum(p.spend_usd for p in people.values())
                                                     - spend)]]})
    assert sorted(pins(team, naive)) == sorted([
        "kudos name 5 of 6", "1 of 6 who could be meant have spike",
        "1 of 1 who could be meant have spend_without_outcomes",
        "tool openai_api covers 1 of 6", "tool claude_code covers 5 of 6",
    ])


def test_the_checker_sees_a_rework_count_or_a_model_that_pins_one_person() -> None:
    """One shipper of six had a PR reverted and alone ran gpt-5: the sheet shows neither; a naive one would."""
    team = [Kind(True, False, False, False, False)] * 5 + [Kind(True, False, False, True, True)]
    people, sheet = sheet_of(team)
    assert pins(team) == [] and sheet.get("rework:reverted") is None and sheet.get("rework_rate") is None
    assert not [f for f in sheet.parts("model") if "gpt-5" in f.key]
    naive = Sheet.from_json({"floor": FLOOR, "withheld": [], "kudos": [], "figures": [
        {"key": key, "value": value, "people": 6, "estimate": False, "label": ""}
        for key, value in [("people_active", 6), ("rework:reverted", 1), ("model:frontier|gpt-5", 1.0)]]})
    assert sorted(pins(team, naive)) == ["model frontier|gpt-5 covers 1 of 6", "model other or the rest of the total "
                                         "covers 5 of 6", "rework:reverted over 1 of 6"]
