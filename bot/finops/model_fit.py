"""`tokenworth model-fit`: the org's or a team's evidence table and recommendations, for admins and FinOps.

Invariant: only what bot.core.evidence lets through is shown: a cell below the thresholds says "not enough
data" and carries no figure; there is never a row per person nor any order of people; every figure is
labelled an estimate from the org's own data (correlation, not a controlled experiment). Each showing is
written to the access log (surface `model_fit`) with the ids of the people in scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.evidence import NOT_ENOUGH, Cell, Figures
from bot.core.model_fit import Finding
from bot.core.prices import PriceTable
from bot.governance.access import Showing, record_showing
from bot.reads.work import Scope, judge_span, scope

SURFACE = "model_fit"
HIDDEN = "cells below the thresholds are not listed: listing them would say which work ran on which tier"
CAVEAT = ("Estimates from the org's own outcomes: correlation in its data, not a controlled experiment. "
          "Cells need at least {n} outcomes from at least {people} people.")


@dataclass(frozen=True)
class ModelFitReport:
    scope: str
    weeks: int
    as_of: datetime
    min_outcomes: int
    min_people: int
    table: tuple[Cell, ...]
    findings: tuple[Finding, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "scope": self.scope, "weeks": self.weeks, "as_of": self.as_of.isoformat(), "estimate": True,
            "caveat": CAVEAT.format(n=self.min_outcomes, people=self.min_people),
            "table": [_cell_json(c) for c in self.table], "hidden": HIDDEN,
            "findings": [_finding_json(f) for f in self.findings],
        }

    def lines(self) -> list[str]:
        head = f"Model fit for {self.scope}, {self.weeks} weeks to {self.as_of:%Y-%m-%d} (estimates)"
        out = [head, CAVEAT.format(n=self.min_outcomes, people=self.min_people), "", "Evidence by work class and tier:"]
        out += [f"  {c.work_class:<8} {c.tier:<9} {_cell_text(c.figures)}" for c in self.table] or [
            f"  {NOT_ENOUGH} in any cell"]
        out += [f"  ({HIDDEN})"]
        out += ["", "Recommendations:"]
        out += [f"  {line}" for f in self.findings for line in _finding_lines(f)] or ["  none: not enough data"]
        return out


def model_fit(
    session: Session, config: OrgConfig, prices: PriceTable, team: str | None, weeks: int, as_of: datetime,
) -> ModelFitReport:
    """Judge the span, log the showing, and keep only what may be shown."""
    who: Scope = scope(session, team)
    judged = judge_span(session, config, prices, who, weeks, as_of)
    record_showing(session, Showing(SURFACE, "role", "admin", team=team, members=frozenset(who.person_ids),
                                    detail=f"{weeks} weeks to {as_of:%Y-%m-%d}"))
    table, found = shown(judged.table, judged.findings)
    return ModelFitReport(who.name, weeks, as_of, config.model_fit.min_outcomes, config.policy.min_group_size,
                          table, found)


def shown(table: Sequence[Cell], found: Sequence[Finding]) -> tuple[tuple[Cell, ...], tuple[Finding, ...]]:
    """Only cells above the floor, and only findings that rest on them.

    Listing a cell below the floor as "not enough data" would still say that some work of that class ran
    on that tier; a finding about a class without a frontier cell above the floor would say the same.
    """
    cells = tuple(c for c in table if c.figures is not None)
    frontier = {c.work_class for c in cells if c.tier == "frontier"}
    return cells, tuple(f for f in found if f.recommendation is not None or f.work_class in frontier)


def _cell_text(f: Figures | None) -> str:
    if f is None:
        return NOT_ENOUGH
    return (f"{f.outcomes} outcomes, {f.people} people, cost per outcome ${f.cost_median:,.2f} "
            f"(IQR ${f.cost_q1:,.2f}-${f.cost_q3:,.2f}), rework {f.rework_rate:.0%} "
            f"(95% interval {f.rework_low:.0%}-{f.rework_high:.0%})")


def _finding_lines(f: Finding) -> list[str]:
    r = f.recommendation
    if r is None:
        return [f"{f.work_class}: no recommendation: {f.reason}"]
    return [
        f"{f.work_class}: default to {r.model} ({r.tier}); estimated saving ${r.weekly_saving_low_usd:,.2f}-"
        f"${r.weekly_saving_high_usd:,.2f} a week ({r.label})",
        f"    evidence: {f.reason}",
        *(f"    set it in {where}" for where in r.settings),
    ]


def _figures_json(f: Figures | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"outcomes": f.outcomes, "people": f.people, "linked_usd": round(f.linked_usd, 2),
            "cost_per_outcome": {"q1": round(f.cost_q1, 2), "median": round(f.cost_median, 2),
                                 "q3": round(f.cost_q3, 2)},
            "rework_rate": round(f.rework_rate, 4), "rework_interval_95": [round(f.rework_low, 4),
                                                                           round(f.rework_high, 4)]}


def _cell_json(c: Cell) -> dict[str, Any]:
    return {"work_class": c.work_class, "tier": c.tier, "model": c.model, "figures": _figures_json(c.figures),
            "note": c.note}


def _finding_json(f: Finding) -> dict[str, Any]:
    r = f.recommendation
    found: dict[str, Any] = {"work_class": f.work_class, "reason": f.reason, "recommendation": None}
    if r is not None:
        found["recommendation"] = {
            "model": r.model, "tier": r.tier, "settings": list(r.settings), "label": r.label,
            "frontier": _figures_json(r.frontier), "cheaper": _figures_json(r.cheaper),
            "weekly_saving_usd": {"low": round(r.weekly_saving_low_usd, 2), "median": round(r.weekly_saving_usd, 2),
                                  "high": round(r.weekly_saving_high_usd, 2)},
        }
    return found
