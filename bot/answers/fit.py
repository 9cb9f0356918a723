"""How the asker's own work fits their team's evidence: cost per outcome by work class, beside the team's cells.

Invariants: the team's figures are only evidence-table cells above the floor (`model_fit.min_outcomes` outcomes
from at least `min_group_size` people, see bot.core.evidence) that `bot.core.disclosure.disclose` also lets
through as a figure over the subgroup of the team who did that work on that tier (it and the rest of the team
each at least the floor, as the digest's tier breakdowns); any other cell shows nothing at all, not even
"not enough data" (that would still say which work ran on which tier), and no tip rests on it. The asker's
own figures are theirs alone. The judgement is the one `tokenworth model-fit --team` and the digest make
(bot.core.judgement.judge over the team's spend), read in two statements; every figure is an estimate from
correlation in the org's own data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.disclosure import Over, disclose
from bot.core.evidence import Cell, JudgedOutcome, evidence
from bot.core.judgement import Judgement, judge
from bot.core.judgement_facts import UsageDay, WorkItem
from bot.core.model_fit import Recommendation, own_fit
from bot.core.prices import PriceTable
from bot.core.weeks import Week, to_utc
from bot.reads.person_weeks import AskerWeeks, team_work
from bot.reads.work import LEAD_DAYS, usage_days

EVIDENCE_WEEKS = 8  # as `tokenworth model-fit` by default


@dataclass(frozen=True)
class ClassFit:
    work_class: str
    outcomes: int  # the asker's outcomes of this class in the span
    cost_median: float  # the asker's median linked cost per outcome
    tier: str  # the tier most of the asker's outcomes of this class ran on
    team: tuple[Cell, ...]  # the team's cells of this class above the floor, dearest tier first
    recommendation: Recommendation | None  # the team's evidence says: default to this model
    fits: bool  # already on the recommended tier or cheaper, or nothing to change
    held: str | None = None  # why the evidence keeps this class on the frontier tier (cells above the floor only)

    @property
    def saving_per_outcome(self) -> float:
        """What one of the asker's outcomes would cost less on the recommended tier, at the team's medians."""
        r = self.recommendation
        if self.fits or r is None:
            return 0.0
        return self.outcomes * max(r.frontier.cost_median - r.cheaper.cost_median, 0.0)


@dataclass(frozen=True)
class WorkFit:
    weeks: int
    as_of: date
    min_outcomes: int
    min_people: int
    classes: tuple[ClassFit, ...]

    @property
    def tip(self) -> ClassFit | None:
        """The one class to change first: where moving would save the most; None when nothing needs changing."""
        moves = [c for c in self.classes if c.saving_per_outcome > 0]
        return max(moves, key=lambda c: (c.saving_per_outcome, c.work_class)) if moves else None

    @property
    def fitting(self) -> tuple[ClassFit, ...]:
        """Classes where the team's evidence recommends a cheaper tier and the asker already works that way."""
        return tuple(c for c in self.classes if c.fits and c.recommendation is not None)


def evidence_end(week: Week, now: datetime) -> datetime:
    """Judge up to the end of the week answered about, or up to now while that week is not over."""
    end = datetime.combine(week.end, time.min, tzinfo=UTC) - timedelta(microseconds=1)
    return min(end, to_utc(now))


def work_fit(
    session: Session, config: OrgConfig, prices: PriceTable, read: AskerWeeks, week: Week, now: datetime,
) -> WorkFit:
    """The asker's classes beside their team's evidence over the EVIDENCE_WEEKS weeks to the end of `week`.

    The judgement `tokenworth model-fit --team` and the digest make (bot.reads.work.judge_span: the team's spend
    with the work its records name), over the work that can bear on it (bot.reads.person_weeks.team_work)
    rather than the whole org's: two statements, however many weeks were asked.
    """
    team, as_of = frozenset(read.team.ids), evidence_end(week, now)
    since = as_of.date() - timedelta(days=7 * EVIDENCE_WEEKS - 1)
    lead = since - timedelta(days=LEAD_DAYS)
    items = team_work(session, datetime.combine(lead, time.min, tzinfo=UTC), as_of + timedelta(microseconds=1),
                      sorted(team))
    usage = usage_days(session, sorted(team), lead, as_of.date() + timedelta(days=1), prices)
    return fit_from(judge(items, usage, config, since, as_of), read.person_id, team, config, as_of, since)


def fit_of(
    person_id: int, items: Sequence[WorkItem], usage: Sequence[UsageDay], config: OrgConfig, since: date,
    as_of: datetime, team: frozenset[int] | None = None,
) -> WorkFit:
    """The person's classes beside the evidence of `team` (the people whose `usage` is given), over [since, as_of].

    A cell is shown only above the evidence floor and when `disclose` lets its figure through as one over the
    subgroup of the team who did that work on that tier (it and the rest of the team each at least the floor).
    """
    people = team if team is not None else frozenset(u.person_id for u in usage)
    return fit_from(judge(items, usage, config, since, as_of), person_id, people, config, as_of, since)


def fit_from(
    judged: Judgement, person_id: int, team: frozenset[int], config: OrgConfig, as_of: datetime,
    since: date | None = None,
) -> WorkFit:
    """The person's classes from a judgement of their team's spend: cells `disclose` lets through about `team`."""
    shown = _disclosed(judged.outcomes, judged.table, team, config, as_of)
    cells: dict[str, list[Cell]] = defaultdict(list)
    for cell in judged.table:
        if cell.figures is not None and (cell.work_class, cell.tier) in shown:
            cells[cell.work_class].append(cell)
    tiers = {(c.work_class, c.tier) for found in cells.values() for c in found}
    advice = {f.work_class: f.recommendation for f in judged.findings if f.recommendation is not None
              and {(f.work_class, "frontier"), (f.work_class, f.recommendation.tier)} <= tiers}
    held = {f.work_class: f.reason for f in judged.findings
            if f.recommendation is None and _compared(f.reason) and _both_shown(f.work_class, f.reason, tiers)}
    mine = own_fit(person_id, judged.outcomes, judged.findings, config.model_fit)
    classes = tuple(
        ClassFit(own.work_class, own.outcomes, own.cost_median, own.tier, tuple(cells[own.work_class]),
                 advice.get(own.work_class), own.fits or own.work_class not in advice,
                 held.get(own.work_class) if own.tier == "frontier" else None)
        for own in mine
    )
    days = (to_utc(as_of).date() - since).days + 1 if since else 7 * EVIDENCE_WEEKS
    weeks = max(round(days / 7), 1)
    return WorkFit(weeks, to_utc(as_of).date(), config.model_fit.min_outcomes, config.policy.min_group_size, classes)


def _compared(reason: str) -> bool:
    """A reason that compares two cells, both above the floor (bot.core.model_fit only compares used cells)."""
    return "reworked more" in reason or "cost no less" in reason


def _both_shown(work_class: str, reason: str, tiers: set[tuple[str, str]]) -> bool:
    cheaper = next((t for t in ("standard", "economy") if f"{t}-tier" in reason), None)
    return cheaper is not None and {(work_class, "frontier"), (work_class, cheaper)} <= tiers


def _disclosed(
    outcomes: Sequence[JudgedOutcome], table: Sequence[Cell], team: frozenset[int], config: OrgConfig,
    as_of: datetime,
) -> set[tuple[str, str]]:
    """The (class, tier) cells whose figures `disclose` lets through about the team."""
    members: dict[tuple[str, str], set[int]] = defaultdict(set)
    for o in evidence(outcomes, as_of):
        if o.verdict.person_id is not None:
            members[(o.work_class.label(config.model_fit.group_by), o.tier or "unknown")].add(o.verdict.person_id)
    candidates = [Over(f"{c.work_class}|{c.tier}", c.figures.cost_median, frozenset(members[(c.work_class, c.tier)]),
                       team, estimate=True) for c in table if c.figures is not None]
    sheet = disclose(team, config.policy.min_group_size, candidates)
    return {(c.work_class, c.tier) for c in table if sheet.get(f"{c.work_class}|{c.tier}") is not None}
