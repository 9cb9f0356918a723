"""What the digest takes from judging the work: the rework line, spend by model, the evidence table, the finding.

The team's work is judged by `bot.reads.work.judge_span` (as `tokenworth model-fit` judges it), over the last
EVIDENCE_WEEKS weeks as of the end of the digest week, so a digest is a function of its week.

Invariant: every figure made here is made by `bot.core.disclosure.disclose`. The rework line and spend by model
are candidates of the week's sheet, over the people active that week, as every other line; each evidence cell is
disclosed over the people whose outcomes are in it, and a recommendation over the people of both its cells, so
neither can show a group smaller than the floor. Cells below the evidence thresholds are not listed at all
(listing them would say which work ran on which tier), and keys name a class, a tier or a model, never a person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlmodel import Session

from bot.config.org import ModelFit, OrgConfig
from bot.core.disclosure import Candidate, Figure, Over, Ratio, Total, disclose
from bot.core.evidence import Cell, JudgedOutcome, evidence
from bot.core.judgement import Judgement
from bot.core.model_fit import Finding
from bot.core.prices import PriceTable
from bot.core.rework import FIXED_AFTER, REOPENED, REVERTED, Verdict, summarise
from bot.core.weeks import Week, to_utc
from bot.reads.work import LEAD_DAYS, Scope, judge_span, usage_days
from storage.models import WorkDetail, table

EVIDENCE_WEEKS = 8
SEP = "|"  # inside keys: model names may hold ":" (Bedrock ids) but never "|"
CELL, FIT = "cell", "fit"
CELL_FIGURES = ("outcomes", "cost_q1", "cost_median", "cost_q3", "rework_rate", "rework_low", "rework_high")
UNDONE = {REVERTED: "rework:reverted", FIXED_AFTER: "rework:fixed_after", REOPENED: "rework:reopened"}


@dataclass(frozen=True)
class WorkInputs:
    """A team-week's judged work, as the sheet needs it: private inputs, never shown as such."""

    verdicts: tuple[Verdict, ...] = ()  # the members' outcomes finished this week
    model_spend: Mapping[int, Mapping[str, float]] = field(default_factory=dict)  # person -> "tier|model" -> $
    cells: tuple[tuple[Cell, frozenset[int]], ...] = ()  # evidence cells with the people in each
    findings: tuple[Finding, ...] = ()


def week_end(week: Week) -> datetime:
    """The last moment of the week (UTC): what the digest judges the work as of, so it is a function of the week."""
    return datetime.combine(week.end, time.min, tzinfo=UTC) - timedelta(microseconds=1)


def work_inputs(judged: Judgement, ids: Iterable[int], week: Week, fit: ModelFit) -> WorkInputs:
    """The team's part of a judgement made over its spend (`bot.reads.work.judge_span` with the team's scope)."""
    members = frozenset(ids)
    verdicts = tuple(o.verdict for o in judged.outcomes
                     if o.verdict.person_id in members and week.monday <= to_utc(o.verdict.finished_at).date())
    spend: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for link in judged.links:
        if link.person_id in members and week.monday <= link.day < week.end:
            spend[link.person_id][f"{link.tier}{SEP}{link.model}"] += link.amount_usd
    people = cell_people(judged.outcomes, fit, week_end(week))
    cells = tuple((c, people.get((c.work_class, c.tier), frozenset())) for c in judged.table if c.figures)
    return WorkInputs(verdicts, {pid: dict(parts) for pid, parts in spend.items()}, cells, judged.findings)


def judged_work(session: Session, config: OrgConfig, prices: PriceTable, ids: Sequence[int], week: Week) -> WorkInputs:
    """The team's work judged over the evidence weeks to the end of `week` (the team's spend, the org's work).

    With no stored work details in the span there is nothing to judge: only the week's spend by model is read.
    """
    as_of = week_end(week)
    start = datetime.combine(as_of.date() - timedelta(days=7 * EVIDENCE_WEEKS + LEAD_DAYS), time.min, tzinfo=UTC)
    w = table(WorkDetail).c
    if session.execute(select(w.id).where(w.finished_at >= start, w.finished_at <= as_of).limit(1)).first() is None:
        spend: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for day in usage_days(session, ids, week.monday, week.end, prices):
            spend[day.person_id][f"{day.tier}{SEP}{day.model}"] += day.spend_usd
        return WorkInputs(model_spend={pid: dict(parts) for pid, parts in spend.items()})
    judged = judge_span(session, config, prices, Scope("team", tuple(ids)), EVIDENCE_WEEKS, as_of)
    return work_inputs(judged, ids, week, config.model_fit)


def cell_people(
    outcomes: Iterable[JudgedOutcome], fit: ModelFit, as_of: datetime
) -> dict[tuple[str, str], frozenset[int]]:
    """Who is in each (work class, tier) cell of the evidence table: the same rule as `evidence_table`."""
    found: dict[tuple[str, str], set[int]] = defaultdict(set)
    for o in evidence(outcomes, as_of):
        if o.verdict.person_id is not None:
            found[(o.work_class.label(fit.group_by), o.tier or "unknown")].add(o.verdict.person_id)
    return {key: frozenset(people) for key, people in found.items()}


def rework_candidates(verdicts: Sequence[Verdict]) -> list[Candidate]:
    """The rework line: counts over the team, and each kind of undoing over the people whose work it undid."""
    if not verdicts:
        return []
    summary = summarise(verdicts)
    whose = {kind: frozenset(v.person_id for v in verdicts if v.rework == kind and v.person_id is not None)
             for kind in UNDONE}
    found: list[Candidate] = [
        Total("rework:outcomes", summary.outcomes), Total("rework:surviving_prs", summary.surviving_prs),
        Total("rework:provisional", summary.provisional),
        Over("rework:reworked", summary.reworked, frozenset().union(*whose.values())),
    ]
    counts = {REVERTED: summary.reverted, FIXED_AFTER: summary.fixed_after, REOPENED: summary.reopened}
    found += [Over(key, counts[kind], whose[kind], requires="rework:reworked") for kind, key in UNDONE.items()]
    return found + [Ratio("rework_rate", "rework:reworked", "rework:outcomes"),
                    Ratio("cost_per_accepted_change", "spend_usd", "rework:surviving_prs")]


def evidence_figures(inputs: WorkInputs, floor: int) -> tuple[Figure, ...]:
    """Each evidence cell over its own people, and each recommendation over the people of its two cells."""
    shown: list[Figure] = []
    people = {(c.work_class, c.tier): members for c, members in inputs.cells}
    for cell, members in inputs.cells:
        if cell.figures is None:
            continue
        values = {name: float(getattr(cell.figures, name)) for name in CELL_FIGURES}
        key = SEP.join((CELL, cell.work_class, cell.tier))
        shown += disclose(members, floor, [Total(f"{key}{SEP}{n}", v) for n, v in values.items()]).figures
    for finding in inputs.findings:
        r = finding.recommendation
        if r is None:
            continue
        covered = people.get((r.work_class, "frontier"), frozenset()) | people.get((r.work_class, r.tier), frozenset())
        key = SEP.join((FIT, r.work_class, r.tier, r.model))
        amounts = {"low": r.weekly_saving_low_usd, "median": r.weekly_saving_usd, "high": r.weekly_saving_high_usd}
        both_cells = all(f"{SEP.join((CELL, r.work_class, t))}{SEP}outcomes" in {f.key for f in shown}
                         for t in ("frontier", r.tier))
        if both_cells:
            shown += disclose(covered, floor, [Total(f"{key}{SEP}{n}", v, estimate=True)
                                               for n, v in amounts.items()]).figures
    return tuple(shown)
