"""`me`: one person's weeks, privately, with where they stand in their team as a band.

Invariant: the reports of one request are built in memory from one read model (`read_me`), so one
week and twelve weeks cost the same number of queries. What the asker learns about their team (its
middle yield, their band) passes `bot.core.disclosure.disclose` like any figure shown about others: a
band only when each of the three bands holds at least `min_group_size` people, otherwise the asker's own
figure beside the team's; never a name or a rank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from bot.config.org import OrgConfig, Policy
from bot.core.disclosure import Middle, Standing, disclose, middle
from bot.core.metrics import PersonWeek, top_frontier_model
from bot.core.prices import PriceTable
from bot.core.signals import SPIKE_HISTORY_WEEKS, Flag, idle_seats, person_flags, rework
from bot.core.weeks import Week
from bot.reads.person_weeks import AskerWeeks, read_asker


@dataclass(frozen=True)
class TeamStanding:
    name: str
    people: int
    median_yield_per_100usd: float | None  # the mean of the middle two or three yields, when disclosed
    band: str | None  # what the band is ("lower band (the 6 lowest of 18)"), when every band is a group
    middle_of: int = 0  # how many yields the middle is taken over
    band_withheld: str | None = None  # why there is no band, when the asker has a yield
    min_group_size: int = 5


@dataclass(frozen=True)
class ModelSwitch:
    """What the asker's frontier spend ran on, the standard model of the same provider, and their tools."""

    frontier_model: str
    standard_model: str
    tools: tuple[str, ...]  # the tools the asker spent on, dearest first (where the setting lives)


@dataclass(frozen=True)
class MeReport:
    email: str
    name: str | None
    week: Week
    figures: PersonWeek
    team: TeamStanding | None
    flags: tuple[Flag, ...] = ()
    rework: dict[str, float] = field(default_factory=dict)
    seat_cost_usd: float = 0.0  # fixed: seats prorated per day (bot.core.seats), as `figures` carries it
    switch: ModelSwitch | None = None

    @property
    def at_or_above_middle(self) -> bool:
        """The asker's yield is at or above the team's middle yield, as disclosed (never computed around the floor)."""
        own, team = self.figures.yield_per_100usd, self.team
        middle_yield = team.median_yield_per_100usd if team else None
        return own is not None and middle_yield is not None and own >= middle_yield

    def as_json(self) -> dict[str, Any]:
        f = self.figures
        return {
            "email": self.email,
            "name": self.name,
            "week": str(self.week),
            "spend_usd": f.spend_usd,
            "seat_cost_usd": self.seat_cost_usd,
            "cost_usd": f.cost_usd,
            "tokens": {
                "input": f.tokens.input, "output": f.tokens.output,
                "cache_read": f.tokens.cache_read, "cache_write": f.tokens.cache_write,
                "total": f.tokens.total,
            },
            "outcomes": {k: _number(v) for k, v in f.outcomes.items()},
            "outcome_points": f.outcome_points,
            "yield_per_100usd": f.yield_per_100usd,
            "frontier_share": f.frontier_share,
            "savings_usd": f.savings_usd,
            "spend_by_tool": f.spend_by_tool,
            "unpriced_models": sorted(f.unpriced_models),
            "rework": {k: _number(v) for k, v in self.rework.items()},
            "flags": [{"name": f.name, "detail": f.detail, "tip": f.tip} for f in self.flags],
            "at_or_above_team_middle": self.at_or_above_middle,
            "switch": None if self.switch is None else {
                "from": self.switch.frontier_model, "to": self.switch.standard_model, "tools": list(self.switch.tools),
            },
            "team": None if self.team is None else {
                "name": self.team.name, "people": self.team.people,
                "median_yield_per_100usd": self.team.median_yield_per_100usd, "band": self.team.band,
                "band_withheld": self.team.band_withheld,
            },
        }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def me_weeks(weeks: Sequence[Week]) -> list[Week]:
    """The weeks a report of `weeks` reads: those weeks and the spike history before the first."""
    return [min(weeks).shift(-SPIKE_HISTORY_WEEKS), *weeks]


def read_me(session: Session, config: OrgConfig, prices: PriceTable, email: str, weeks: Sequence[Week]) -> AskerWeeks:
    """The read model `me` of these weeks needs, in one go."""
    return read_asker(session, config, prices, email, me_weeks(weeks))


def me_reports(read: AskerWeeks, weeks: Sequence[Week], policy: Policy) -> tuple[MeReport, ...]:
    """One report per week, in memory; `read` must cover `me_weeks(weeks)`."""
    return tuple(me_of(read, week, policy) for week in weeks)


def me_report(session: Session, config: OrgConfig, prices: PriceTable, email: str, week: Week) -> MeReport:
    """One week's report, read and built (for the CLI and one-off callers)."""
    return me_of(read_me(session, config, prices, email, [week]), week, config.policy)


def me_of(read: AskerWeeks, week: Week, policy: Policy) -> MeReport:
    person, mine = read.person, read.mine(week)
    history = [week.shift(-back) for back in range(SPIKE_HISTORY_WEEKS, 0, -1)]
    standing = _standing(person.team, read, week, policy.min_group_size)
    flags = person_flags(
        mine, [read.mine(w).spend_usd for w in history], _team_middle(read, week, policy.min_group_size),
        idle_seats(read.seats_in(week), week), policy.flags,
    )
    return MeReport(person.email, person.name, week, mine, standing, tuple(flags),
                    rework(read.activity_in(week), mine.outcomes["pr_reverted"]),
                    seat_cost_usd=mine.seat_cost_usd,
                    switch=model_switch(mine, policy))


def model_switch(mine: PersonWeek, policy: Policy) -> ModelSwitch | None:
    """The standard model to default to instead of the frontier model most of the week's spend ran on."""
    frontier = top_frontier_model(mine)
    standard = policy.standard_models.get(mine.model_providers.get(frontier, "")) if frontier else None
    if frontier is None or standard is None or standard == frontier:
        return None
    tools = sorted((t for t, v in mine.spend_by_tool.items() if v > 0), key=lambda t: (-mine.spend_by_tool[t], t))
    return ModelSwitch(frontier, standard, tuple(tools))


def _yields(read: AskerWeeks, week: Week) -> dict[int, float]:
    return {i: y for i in read.team.ids if (y := read.team.of(i, week).yield_per_100usd) is not None}


def _team_middle(read: AskerWeeks, week: Week, min_group_size: int) -> float | None:
    """What the frontier-heavy flag compares the asker's yield with (never shown as a number by the flag)."""
    yields = _yields(read, week)
    return middle(yields.values()) if len(read.team.ids) >= min_group_size and len(yields) >= min_group_size \
        else None


def _standing(team: str | None, read: AskerWeeks, week: Week, min_group_size: int) -> TeamStanding | None:
    """The team's middle yield and the asker's band, as `disclose` allows; None below the privacy floor."""
    ids = read.team.ids
    if team is None or len(ids) < min_group_size:
        return None
    group = frozenset(i for i in ids if read.team.of(i, week).active)
    yields = _yields(read, week)
    sheet = disclose(group, min_group_size, [
        Middle("median_yield_per_100usd", yields), Standing("band", read.person_id, yields),
    ])
    middle_figure, band, why = sheet.get("median_yield_per_100usd"), sheet.get("band"), sheet.reason("band")
    return TeamStanding(
        name=team, people=len(ids), median_yield_per_100usd=middle_figure.value if middle_figure else None,
        band=band.label if band else None, middle_of=middle_figure.people if middle_figure else 0,
        band_withheld=why.reason if why and read.person_id in yields else None, min_group_size=min_group_size,
    )
