"""Signals about a person's week: private to that person (others only ever see counts).

Rework signals are what had to be undone or thrown away; Copilot suggestions nobody accepted are not among them
(declining a suggestion is normal suggestion flow), so Copilot's acceptance rate is an activity figure instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.config.org import Flags
from bot.core.facts import ActivityFact, SeatFact
from bot.core.metrics import PersonWeek, median
from bot.core.weeks import Week, to_utc

IDLE_AFTER = timedelta(days=14)
SPIKE_HISTORY_WEEKS = 4
SPIKE_MIN_WEEKS = 2

# (source, metric) -> rework signal; Claude Code telemetry only where analytics has nothing that day.
REWORK_METRICS = {
    ("claude_code", "edits_rejected"): "assistant_edits_rejected",
    ("claude_code_otel", "edits_rejected"): "assistant_edits_rejected",
    ("cursor_daily", "totalRejects"): "cursor_rejects",
    ("cursor_daily", "rejects"): "cursor_rejects",
}


@dataclass(frozen=True)
class Flag:
    name: str
    detail: str
    tip: str


@dataclass(frozen=True)
class IdleSeat:
    plan: str | None
    monthly_cost_usd: float | None


def rework(activity: Iterable[ActivityFact], reverted_prs: float) -> dict[str, float]:
    """Rework signals of one person-week: what had to be undone or thrown away."""
    found: dict[str, float] = defaultdict(float)
    facts = list(activity)
    analytics_days = {f.day for f in facts if f.source == "claude_code"}
    for fact in facts:
        if fact.source == "claude_code_otel" and fact.day in analytics_days:
            continue
        signal = REWORK_METRICS.get((fact.source, fact.metric))
        if signal:
            found[signal] += fact.value
    found["prs_reverted"] = reverted_prs
    return dict(found)


@dataclass(frozen=True)
class SuggestionFlow:
    """Copilot's code suggestions in a span: how many were shown and accepted. Activity, never rework."""

    suggested: float = 0.0
    accepted: float = 0.0

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted ÷ suggested (at most 1); none without suggestions."""
        return min(self.accepted / self.suggested, 1.0) if self.suggested > 0 else None


def copilot_suggestions(activity: Iterable[ActivityFact]) -> SuggestionFlow:
    """Copilot's suggestions and acceptances among `activity` (a person-week's, a team's)."""
    suggested = accepted = 0.0
    for fact in activity:
        if fact.source == "copilot_usage" and fact.metric == "suggestions":
            suggested += fact.value
        elif fact.source == "copilot_usage" and fact.metric == "acceptances":
            accepted += fact.value
    return SuggestionFlow(suggested, accepted)


def copilot_acceptance(activity: Iterable[ActivityFact]) -> float | None:
    """Copilot's acceptance rate (accepted ÷ suggested): shown as activity beside the week, never as rework."""
    return copilot_suggestions(activity).acceptance_rate


def idle_seats(seats: Iterable[SeatFact], week: Week) -> list[IdleSeat]:
    """Paid seats, in a snapshot of this week, whose last activity is older than 14 days or absent."""
    idle = []
    for seat in seats:
        if not (week.monday <= seat.day < week.end) or not seat.monthly_cost_usd:
            continue
        last = to_utc(seat.last_activity_at) if seat.last_activity_at else None
        snapshot_end = _end_of(seat.day)
        if last is None or snapshot_end - last > IDLE_AFTER:
            idle.append(IdleSeat(seat.plan, seat.monthly_cost_usd))
    return idle


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def person_flags(
    week: PersonWeek,
    previous_spend: Sequence[float],
    team_median_yield: float | None,
    seats: Sequence[IdleSeat],
    rules: Flags,
) -> list[Flag]:
    flags = []
    if week.spend_usd >= rules.spend_without_outcomes_usd and week.outcome_points <= 0:
        flags.append(Flag(
            "spend_without_outcomes", f"${week.spend_usd:,.2f} of AI spend and no outcome points this week",
            "Before a long agent run, name the PR or ticket it is for; stop runs that no longer serve one.",
        ))
    share, own = week.frontier_share, week.yield_per_100usd
    if own is not None and share is not None and team_median_yield is not None \
            and share >= rules.frontier_share and own < team_median_yield:
        flags.append(Flag(
            "frontier_heavy",
            f"{share:.0%} of your spend ran on frontier models, and your yield is below your team's median",
            "Default to the standard tier and switch up only for hard problems: "
            f"at list prices the same tokens cost up to ${week.savings_usd:,.2f} less (a ceiling, not a saving: "
            "some of that work may need the frontier tier).",
        ))
    history = [s for s in previous_spend if s > 0]
    if len(history) >= SPIKE_MIN_WEEKS:
        usual = median(history) or 0.0
        if usual > 0 and week.spend_usd >= rules.spike_factor * usual:
            flags.append(Flag(
                "spike", f"${week.spend_usd:,.2f} this week against your usual ${usual:,.2f}",
                "Check for runaway loops, agents left running, or huge contexts re-sent every turn.",
            ))
    for seat in seats:
        cost = f"${seat.monthly_cost_usd:,.2f} a month" if seat.monthly_cost_usd else "a paid seat"
        flags.append(Flag(
            "idle_seat", f"A {seat.plan or 'paid'} seat ({cost}) unused for over 14 days",
            "If you no longer use it, ask your admin to release the seat.",
        ))
    return flags
