"""Model fit: which work classes the org's own evidence says could run on a cheaper tier, and what that saves.

A class gets a recommendation only when both the frontier cell and a cheaper tier's cell are used (enough
outcomes from enough people), the cheaper tier's median cost per outcome is lower, and its rework rate is no
worse: at most the upper end of the frontier's 95% interval. The saving is the period's frontier-linked spend in
that class × (1 − cheaper cost per outcome ÷ frontier cost per outcome), a range from the quartiles, per week.
Every figure here is an estimate from correlation in the org's own outcomes, not a controlled experiment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config.org import ModelFit
from bot.core.evidence import NOT_ENOUGH, Cell, Figures, JudgedOutcome, evidence, evidence_table, quartiles

CHEAPER = ("standard", "economy")
ESTIMATE = "estimate: correlation in this org's own outcomes, not a controlled experiment"
CEILING = ("ceiling, not a saving: all frontier spend re-priced at the standard tier's list prices, "
           "as if every piece of that work would have gone as well there")


@dataclass(frozen=True)
class Recommendation:
    work_class: str
    model: str  # the model to default to
    tier: str
    settings: tuple[str, ...]  # where to set it: Claude Code, Cursor, LiteLLM
    frontier: Figures  # the evidence on each tier: n, people, cost per outcome, rework with its interval
    cheaper: Figures
    weekly_saving_low_usd: float
    weekly_saving_usd: float  # from the medians
    weekly_saving_high_usd: float
    label: str = ESTIMATE


@dataclass(frozen=True)
class Finding:
    work_class: str
    recommendation: Recommendation | None
    reason: str  # the evidence in a sentence, or why there is no recommendation


@dataclass(frozen=True)
class Ceiling:
    """The blanket price-ratio figure: shown only as a labelled ceiling, never as "could have saved"."""

    amount_usd: float
    label: str = CEILING


@dataclass(frozen=True)
class OwnFit:
    """One person's work in one class beside the team's evidence: private to that person."""

    work_class: str
    outcomes: int
    cost_median: float
    tier: str  # the tier most of their outcomes in this class ran on
    fits: bool  # already on the recommended tier or cheaper, or nothing to change
    tip: str


def findings(
    outcomes: Iterable[JudgedOutcome], fit: ModelFit, min_group_size: int, as_of: datetime, period_weeks: float
) -> list[Finding]:
    """A finding per work class that has evidence, in the table's order; `outcomes` are the period's."""
    judged = list(outcomes)
    table = evidence_table(judged, fit, min_group_size, as_of)
    by_class: dict[str, dict[str, Cell]] = defaultdict(dict)
    for cell in table:
        by_class[cell.work_class][cell.tier] = cell
    return [_finding(name, cells, judged, fit, min_group_size, as_of, period_weeks) for name, cells in by_class.items()]


def _finding(
    name: str, cells: dict[str, Cell], judged: list[JudgedOutcome], fit: ModelFit, min_group_size: int,
    as_of: datetime, period_weeks: float,
) -> Finding:
    frontier = cells.get("frontier")
    if frontier is None:
        return Finding(name, None, f"{name} work: none ran mostly on the frontier tier, nothing to move")
    blocked: list[str] = []
    best: Recommendation | None = None
    for tier in CHEAPER:
        cheaper = cells.get(tier)
        if frontier.figures is None or cheaper is None or cheaper.figures is None:
            continue
        why_not = _why_not(name, tier, frontier.figures, cheaper.figures)
        if why_not:
            blocked.append(why_not)
            continue
        candidate = _recommend(name, tier, frontier.figures, cheaper.figures, judged, fit, as_of, period_weeks)
        if best is None or candidate.weekly_saving_usd > best.weekly_saving_usd:
            best = candidate
    if best:
        return Finding(name, best, _evidence_sentence(best))
    if blocked:
        return Finding(name, None, sorted(blocked, key=lambda r: "reworked more" not in r)[0])
    return Finding(name, None, f"no recommendation for {name} work: {NOT_ENOUGH} (needs {fit.min_outcomes} "
                               f"outcomes from {min_group_size} people on the frontier tier and on a cheaper one)")


def _why_not(name: str, tier: str, frontier: Figures, cheaper: Figures) -> str | None:
    if cheaper.rework_rate > frontier.rework_high:
        return (f"no recommendation for {name} work: {tier}-tier outcomes were reworked more "
                f"({cheaper.rework_rate:.0%} of {cheaper.outcomes}) than frontier-tier ones "
                f"({frontier.rework_rate:.0%} of {frontier.outcomes}, 95% interval up to {frontier.rework_high:.0%})")
    if cheaper.cost_median >= frontier.cost_median:
        return (f"no recommendation for {name} work: {tier}-tier outcomes cost no less "
                f"(${cheaper.cost_median:,.2f} against ${frontier.cost_median:,.2f} per outcome)")
    return None


def _recommend(
    name: str, tier: str, frontier: Figures, cheaper: Figures, judged: list[JudgedOutcome], fit: ModelFit,
    as_of: datetime, period_weeks: float,
) -> Recommendation:
    spend = sum(o.cost.by_tier.get("frontier", 0.0) for o in judged if o.work_class.label(fit.group_by) == name)
    ratios = (cheaper.cost_q1 / frontier.cost_q1 if frontier.cost_q1 > 0 else 1.0,
              cheaper.cost_median / frontier.cost_median,
              cheaper.cost_q3 / frontier.cost_q3 if frontier.cost_q3 > 0 else 1.0)
    weekly = [max(spend * (1 - r), 0.0) / max(period_weeks, 1e-9) for r in ratios]
    model = _model_on(tier, name, evidence(judged, as_of), fit)
    return Recommendation(name, model, tier, settings_for(model), frontier, cheaper, min(weekly), weekly[1],
                          max(weekly))


def _model_on(tier: str, name: str, judged: Iterable[JudgedOutcome], fit: ModelFit) -> str:
    """The model that carried most of the class's spend on that tier."""
    spend: dict[str, float] = defaultdict(float)
    for o in judged:
        if o.work_class.label(fit.group_by) == name:
            for model, amount in o.cost.by_model.items():
                if o.cost.model_tiers.get(model) == tier:
                    spend[model] += amount
    return min(spend, key=lambda m: (-spend[m], m)) if spend else f"a {tier}-tier model"


def settings_for(model: str) -> tuple[str, ...]:
    """The settings that make `model` the default, tool by tool."""
    found = []
    if model.startswith("claude"):
        found.append(f'Claude Code: `/model {model}` in a session, or "model": "{model}" in settings.json')
    found.append(f"Cursor: make {model} the default model (Cursor Settings → Models)")
    found.append(f"LiteLLM: point the model alias this work calls at {model}, or add a router rule for it")
    return tuple(found)


def _evidence_sentence(r: Recommendation) -> str:
    f, c = r.frontier, r.cheaper
    return (f"{r.work_class} work: default to {r.model}. On the {r.tier} tier an outcome cost ${c.cost_median:,.2f} "
            f"(median of {c.outcomes} from {c.people} people) against ${f.cost_median:,.2f} on frontier "
            f"({f.outcomes} from {f.people} people), reworked {c.rework_rate:.0%} against {f.rework_rate:.0%} "
            f"(95% interval {f.rework_low:.0%}–{f.rework_high:.0%}); about ${r.weekly_saving_low_usd:,.0f}–"
            f"${r.weekly_saving_high_usd:,.0f} a week ({r.label})")


def top_finding(found: Sequence[Finding]) -> Finding | None:
    """The week's most valuable finding: the recommendation with the largest estimated weekly saving."""
    recommended = [f for f in found if f.recommendation]
    return max(recommended, key=lambda f: (f.recommendation.weekly_saving_usd if f.recommendation else 0.0,
                                           f.work_class), default=None)


def ceiling(frontier_savings_usd: float) -> Ceiling:
    """Today's blanket figure (frontier spend × the price ratio), labelled as the ceiling it is."""
    return Ceiling(frontier_savings_usd)


def own_fit(person_id: int, outcomes: Iterable[JudgedOutcome], found: Sequence[Finding], fit: ModelFit) -> list[OwnFit]:
    """A person's own cost per outcome by class, beside the team's recommendation for that class, with one tip."""
    mine: dict[str, list[JudgedOutcome]] = defaultdict(list)
    for o in outcomes:
        if o.verdict.person_id == person_id and o.tier is not None:
            mine[o.work_class.label(fit.group_by)].append(o)
    advice = {f.work_class: f.recommendation for f in found}
    return [_own(name, group, advice.get(name)) for name, group in sorted(mine.items())]


def _own(name: str, group: list[JudgedOutcome], recommendation: Recommendation | None) -> OwnFit:
    tiers: dict[str, int] = defaultdict(int)
    for o in group:
        tiers[o.tier or "unknown"] += 1
    tier = min(tiers, key=lambda t: (-tiers[t], t))
    median = quartiles(o.cost.total_usd for o in group)[1]
    if recommendation is None:
        return OwnFit(name, len(group), median, tier, True, f"Nothing to change on {name} work for now.")
    if tier != "frontier":
        return OwnFit(name, len(group), median, tier, True,
                      f"Your {name} work already runs mostly on the {tier} tier, as the team's evidence suggests.")
    tip = (f"On {name} work, default to {recommendation.model} ({recommendation.settings[0]}): your team's "
           f"{recommendation.tier}-tier outcomes cost ${recommendation.cheaper.cost_median:,.2f} each against "
           f"${recommendation.frontier.cost_median:,.2f} on frontier, with no more rework ({recommendation.label}).")
    return OwnFit(name, len(group), median, tier, False, tip)
