"""What a team's weekly digest shows: this week's disclosed figures, and earlier weeks as they were published.

Invariant: everything a digest shows comes from `Sheet`s (`bot.core.disclosure`): this week's is its
published snapshot when there is one, else what `week_sheet` discloses from today's data; earlier weeks
(history, "vs last week") are only ever their published snapshots, and weeks never published show as not
published, never recomputed with today's members. Never a ranking of people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.disclosure import Figure, Sheet, Withheld, middle
from bot.core.metrics import PersonWeek, spend_of
from bot.core.prices import PriceTable
from bot.core.signals import SPIKE_HISTORY_WEEKS, idle_seats, person_flags
from bot.core.weeks import Week
from bot.core.workflows import Unattributed, rules_of, split_unattributed
from bot.digest.figures import Extras, active, week_sheet
from bot.digest.judged import judged_work
from bot.digest.reach import REACH, first_data_day, reach_inputs
from bot.digest.snapshot import Published, published
from bot.errors import UsageError
from bot.reads.person_weeks import Figures, TeamWeeks, span, team_weeks
from bot.reads.queries import seat_facts, unattributed_facts

HISTORY_WEEKS = 8


@dataclass(frozen=True)
class WeekView:
    """One week of a digest: the figures as published (or, for this week before it is, as they would be)."""

    week: Week
    sheet: Sheet | None = None  # None: never published
    published_at: datetime | None = None

    @property
    def shown(self) -> bool:
        return self.sheet is not None and self.sheet.shown

    @property
    def published(self) -> bool:
        return self.published_at is not None

    def figure(self, key: str) -> Figure | None:
        return self.sheet.get(key) if self.sheet is not None and self.shown else None

    def value(self, key: str) -> float | None:
        found = self.figure(key)
        return None if found is None else found.value

    @property
    def spend_usd(self) -> float | None:
        return self.value("spend_usd")

    @property
    def outcome_points(self) -> float | None:
        return self.value("outcome_points")

    @property
    def people_active(self) -> int | None:
        people = self.value("people_active")
        return None if people is None else int(people)

    @property
    def yield_per_100usd(self) -> float | None:
        return self.value("yield_per_100usd")

    @property
    def spend_by_tier(self) -> dict[str, float]:
        return _parts(self.sheet, "tier") if self.sheet is not None and self.shown else {}


def _parts(sheet: Sheet, breakdown: str) -> dict[str, float]:
    return {f.key.split(":", 1)[1]: f.value for f in sheet.parts(breakdown)}


@dataclass(frozen=True)
class Digest:
    team: str
    week: Week
    members: int
    min_group_size: int
    history: Sequence[WeekView]  # oldest first, ending with `week`
    first_data: date | None = None  # the org's first usage day: earlier weeks had no data at all
    rework_window_days: int = 21
    min_outcomes: int = 10  # the evidence rule's outcomes per cell (its people per cell is min_group_size)
    spend_without_outcomes_usd: float = 50.0  # the config's threshold, not a figure
    named: Mapping[int, str] = field(default_factory=dict)  # opted-in members' names: only kudos lines use them
    active_members: frozenset[int] = frozenset()  # who this week's figures cover (never shown)
    withheld: str | None = None  # why figures are held back although the group is large enough
    stale: str | None = None  # for admins: why today's data differs from the published figures

    @property
    def current(self) -> WeekView:
        return self.history[-1]

    @property
    def previous(self) -> WeekView | None:
        return self.history[-2] if len(self.history) > 1 else None

    @property
    def sheet(self) -> Sheet | None:
        return None if self.suppressed else self.current.sheet

    @property
    def suppressed(self) -> bool:
        return not self.current.shown or self.withheld is not None

    @property
    def has_data(self) -> bool:
        return bool(self.active_members)

    def figure(self, key: str) -> Figure | None:
        """This week's figure, when it may be shown."""
        return None if self.suppressed else self.current.figure(key)

    def value(self, key: str) -> float | None:
        found = self.figure(key)
        return None if found is None else found.value

    def parts(self, breakdown: str) -> tuple[Figure, ...]:
        return () if self.sheet is None else self.sheet.parts(breakdown)

    @property
    def kudos(self) -> list[tuple[str, str]]:
        """(name, what they shipped) for people named, still opted in and still members: alphabetical, never ranked."""
        if self.sheet is None:
            return []
        named = [(self.named[pid], shipped) for pid, shipped in self.sheet.kudos if pid in self.named]
        return sorted(named, key=lambda entry: entry[0].lower())

    @property
    def withheld_lines(self) -> tuple[Withheld, ...]:
        return () if self.current.sheet is None else self.current.sheet.withheld

    @property
    def savings_usd(self) -> float | None:
        return self.value("savings_usd")

    @property
    def median_yield_per_100usd(self) -> float | None:
        return self.value("median_yield_per_100usd")

    @property
    def frontier_share(self) -> float | None:
        return self.value("frontier_share")

    @property
    def reach(self) -> dict[str, date]:
        """Each feed named for this week (its users passed the floor; "other" for the rest): its last data day."""
        if self.sheet is None:
            return {}
        return {f.key.removeprefix(REACH): date.fromordinal(int(f.value)) for f in self.sheet.figures
                if f.key.startswith(REACH)}

    @property
    def ceiling_usd(self) -> float | None:
        """The blanket price-ratio figure: a ceiling, never a saving."""
        return self.value("savings_usd")

    def before_data(self, view: WeekView) -> bool:
        """Whether a week ended before the org's first data (shown as "no data", never as $0)."""
        return self.first_data is None or view.week.end <= self.first_data

    def serving(self, snapshot: Published) -> Digest:
        """This digest showing a published snapshot as this week's figures."""
        view = WeekView(self.week, snapshot.sheet, snapshot.published_at)
        return replace(self, history=(*self.history[:-1], view), active_members=snapshot.members)

    def as_json(self) -> dict[str, Any]:
        return digest_json(self)


def digest_json(digest: Digest) -> dict[str, Any]:
    """The digest's data (`digest preview --json`): what is shown, and every line withheld with its reason."""
    shown = not digest.suppressed
    sheet = digest.sheet
    return {
        "team": digest.team, "week": str(digest.week), "suppressed": digest.suppressed,
        "min_group_size": digest.min_group_size,
        "published_at": digest.current.published_at.isoformat() if digest.current.published_at else None,
        "stale": digest.stale, "withheld_because": digest.withheld,
        **{key: _number(digest.value(key)) for key in (
            "people_active", "spend_usd", "seat_cost_usd", "cost_usd", "outcome_points", "yield_per_100usd",
            "median_yield_per_100usd",
            "frontier_share", "savings_usd", "unpriced_models", "unattributed_spend_usd")},
        "spend_by_tier": _parts(sheet, "tier") if sheet else None,
        "spend_by_tool": _parts(sheet, "tool") if sheet else None,
        "billed_usd": _parts(sheet, "billed") if sheet else None,
        "signals": _parts(sheet, "signal") if sheet else None,
        "kudos": [{"name": n, "shipped": w} for n, w in digest.kudos] if shown else None,
        "estimates": [f.key for f in sheet.figures if f.estimate] if sheet else [],
        "withheld": [{"line": w.key, "reason": w.reason, "merged_into": w.merged_into}
                     for w in digest.withheld_lines],
        "history": [
            {"week": str(h.week), "published": h.published, "spend_usd": h.spend_usd,
             "outcome_points": h.outcome_points}
            for h in digest.history
        ],
        "data_through": {feed: day.isoformat() for feed, day in sorted(digest.reach.items())},
        "rework": {key: _number(digest.value(key)) for key in (
            "rework:outcomes", "rework:reworked", "rework:reverted", "rework:fixed_after", "rework:reopened",
            "rework:surviving_prs", "rework:provisional", "rework_rate", "cost_per_accepted_change")},
        "spend_by_model": _parts(sheet, "model") if sheet else None,
        "evidence": {f.key: f.value for f in sheet.figures if f.key.startswith(("cell|", "fit|"))} if sheet else {},
    }


def _number(value: float | None) -> float | int | None:
    return int(value) if value is not None and float(value).is_integer() else value


def build_digest(
    team: str,
    week: Week,
    figures: Mapping[tuple[int, str], PersonWeek],
    member_ids: Sequence[int],
    min_group_size: int,
    *,
    snapshots: Mapping[str, Published] | None = None,
    extras: Extras | None = None,
    named: Mapping[int, str] | None = None,
    spend_without_outcomes_usd: float = 50.0,
    first_data: date | None = None,
    rework_window_days: int = 21,
    min_outcomes: int = 10,
) -> Digest:
    """A pure function of the members' figures this week and the snapshots already published."""
    snapshots = snapshots or {}
    people = {m: figures[(m, str(week))] for m in member_ids}
    earlier = [week.shift(-back) for back in range(HISTORY_WEEKS - 1, 0, -1)]
    history = [_view(w, snapshots.get(str(w))) for w in earlier]
    candidate = week_sheet(people, min_group_size, extras)
    digest = Digest(
        team=team, week=week, members=len(member_ids), min_group_size=min_group_size,
        history=(*history, WeekView(week, candidate)),
        spend_without_outcomes_usd=spend_without_outcomes_usd, named=dict(named or {}),
        active_members=active(people), first_data=first_data, rework_window_days=rework_window_days,
        min_outcomes=min_outcomes,
    )
    mine = snapshots.get(str(week))
    if mine is None:
        return digest
    return replace(digest.serving(mine), stale=staleness(mine, candidate, active(people)))


def _view(week: Week, snapshot: Published | None) -> WeekView:
    return WeekView(week) if snapshot is None else WeekView(week, snapshot.sheet, snapshot.published_at)


def staleness(snapshot: Published, today: Sheet, group: frozenset[int]) -> str | None:
    """Why today's data differs from what was published (for admins); None when it does not."""
    notes = []
    joined, left = len(group - snapshot.members), len(snapshot.members - group)
    if joined or left:
        notes.append(f"{joined} people joined and {left} left the group the figures cover")
    changed = [key for key in ("spend_usd", "outcome_points")
               if (now := today.value(key)) is None or abs(now - (snapshot.sheet.value(key) or 0.0)) > 0.005]
    if changed:
        notes.append(f"late or restated data changed {' and '.join(changed)}")
    if not notes:
        return None
    return (f"Stale since publication on {snapshot.published_at:%Y-%m-%d %H:%M} UTC: {'; '.join(notes)}. "
            "The published figures stand: showing a correction would expose the few people it concerns.")


def digest_weeks(week: Week) -> tuple[Week, ...]:
    """The weeks a digest of `week` is built from, oldest first."""
    return span(week.shift(1 - HISTORY_WEEKS), week)


def load_digest(
    session: Session, config: OrgConfig, prices: PriceTable, team: str, week: Week, read: TeamWeeks | None = None
) -> Digest:
    """The team's digest; `read`: the team's figures when the caller has read them already (reused, not re-read).

    A team with fewer members than the floor shows nothing, so its snapshots are not even read.
    """
    if config.team(team) is None:
        known = ", ".join(t.name for t in config.teams) or "none configured"
        raise UsageError(f"unknown team {team!r} (teams: {known})")
    if read is None:
        read = team_weeks(session, config, prices, team, digest_weeks(week))
    elif not read.covers(digest_weeks(week)) or any(m.team != team for m in read.members):
        raise ValueError(f"the figures passed in are not {team}'s over the weeks of its {week} digest")
    floor, ids = config.policy.min_group_size, read.ids
    snapshots = published(session, team, digest_weeks(week)) if len(ids) >= floor else {}
    group = active({pid: read.of(pid, week) for pid in ids})
    needs_extras = str(week) not in snapshots and len(group) >= floor
    return build_digest(
        team, week, read.figures, ids, floor, snapshots=snapshots,
        extras=_extras(session, config, prices, read, week) if needs_extras else None,
        named={m.id: m.name or m.email for m in read.members if m.kudos_opt_in and m.id is not None},
        spend_without_outcomes_usd=config.policy.flags.spend_without_outcomes_usd,
        first_data=first_data_day(session), rework_window_days=config.rework.window_days,
        min_outcomes=config.model_fit.min_outcomes,
    )


def _extras(session: Session, config: OrgConfig, prices: PriceTable, read: TeamWeeks, week: Week) -> Extras:
    ids = read.ids
    seats = seat_facts(session, ids, week.monday, week.end)
    idle = {pid: sum(s.monthly_cost_usd or 0.0 for s in idle_seats([s for s in seats if s.person_id == pid], week))
            for pid in ids}
    shipped = {m.id: summary for m in read.members
               if m.kudos_opt_in and m.id is not None and (summary := shipped_summary(read.of(m.id, week)))}
    flags = member_flags(read.figures, ids, week, idle, config)
    return Extras(flags=flags, idle_seat_cost={pid: cost for pid, cost in idle.items() if cost}, shipped=shipped,
                  work=judged_work(session, config, prices, read.ids, week),
                  reach=reach_inputs(session, ids, week.monday, week.end))


def member_flags(
    figures: Figures, ids: Sequence[int], week: Week, idle: Mapping[int, float], config: OrgConfig
) -> dict[int, list[str]]:
    """Each member's private flags this week (only ever shown to others as disclosed counts)."""
    floor = config.policy.min_group_size
    yields = [y for pid in ids if (y := figures[(pid, str(week))].yield_per_100usd) is not None]
    team_middle = middle(yields) if len(yields) >= floor else None
    history = [week.shift(-back) for back in range(SPIKE_HISTORY_WEEKS, 0, -1)]
    found = {}
    for pid in ids:
        previous = [figures[(pid, str(w))].spend_usd for w in history if (pid, str(w)) in figures]
        flags = person_flags(figures[(pid, str(week))], previous, team_middle, [], config.policy.flags)
        found[pid] = [flag.name for flag in flags] + (["idle_seat"] if idle.get(pid) else [])
    return found


def shipped_summary(week: PersonWeek) -> str:
    o = week.outcomes
    parts = []
    if o["pr_merged"]:
        parts.append(f"{o['pr_merged']:.0f} merged PR{'s' if o['pr_merged'] != 1 else ''}")
    if o["tickets_closed"]:
        parts.append(f"{o['tickets_closed']:.0f} ticket{'s' if o['tickets_closed'] != 1 else ''} closed")
    return ", ".join(parts)


def unattributed_spend(session: Session, config: OrgConfig, prices: PriceTable, week: Week) -> float:
    """Org-level spend that belongs to nobody this week, counted once: what configured workflows claim is theirs."""
    return sum(spend_of(fact, prices) or 0.0 for fact, _kind, _value in nobodys_usage(session, config, week))


def nobodys_usage(session: Session, config: OrgConfig, week: Week) -> list[Unattributed]:
    """The week's usage nobody claims and no configured workflow takes (as `bot.reads.finops.org_usage` splits it)."""
    facts = unattributed_facts(session, config.gateways, week.monday, week.end)
    return split_unattributed(facts, rules_of(config.workflows))[1]
