"""`tokenworth reconcile`: list-price spend against what the vendors billed, per biller, for FinOps.

Usage is grouped by who bills it (Cursor bills its Claude and GPT events, not Anthropic or OpenAI);
spend is everything counted once, people's, workflows' and nobody's, plus seats prorated per day;
billed comes from the vendors' own ledgers (cost reports, FOCUS), each shown on its own because they
describe the same money. The difference is billed minus list-price value, per ledger, and each gap
it can explain is named: unpriced models, plan-included usage, days one side does not cover, seats
billed up front.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.finops.charges import Charge, charges
from bot.reads.finops import billed_days
from bot.reads.queries import billed_by_provider

PLAN_INCLUDED = {"cursor": "Cursor values every event at list price, also those its plans include; the bill "
                           "charges plans and overage, not events"}


@dataclass
class ProviderLine:
    provider: str  # who bills it
    spend_usd: float = 0.0  # metered: usage at list price
    fixed_usd: float = 0.0  # seats, prorated per day
    unpriced_models: set[str] = field(default_factory=set)
    billed_usd: dict[str, float] = field(default_factory=dict)
    usage_days: set[date] = field(default_factory=set)
    gaps: list[str] = field(default_factory=list)

    @property
    def difference_usd(self) -> dict[str, float]:
        """Per ledger: billed minus what tokenworth values the same provider's usage and seats at."""
        return {source: amount - self.spend_usd - self.fixed_usd for source, amount in self.billed_usd.items()}

    def as_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "spend_usd": self.spend_usd, "fixed_usd": self.fixed_usd,
                "billed_usd": self.billed_usd, "difference_usd": self.difference_usd,
                "unpriced_models": sorted(self.unpriced_models), "gaps": self.gaps}


def reconcile(session: Session, config: OrgConfig, prices: PriceTable, week: Week) -> list[ProviderLine]:
    return reconcile_period(session, config, prices, week.monday, week.end)


def reconcile_period(
    session: Session, config: OrgConfig, prices: PriceTable, start: date, end: date,
) -> list[ProviderLine]:
    lines: dict[str, ProviderLine] = {}
    for charge in charges(session, config, prices, start, end):
        _add(lines.setdefault(charge.biller, ProviderLine(charge.biller)), charge)
    for (provider, source), amount in billed_by_provider(session, start, end).items():
        lines.setdefault(provider, ProviderLine(provider)).billed_usd[source] = amount
    ledger_days = billed_days(session, start, end)
    for line in lines.values():
        line.gaps = _gaps(line, ledger_days.get(line.provider, set()))
    return sorted((line for line in lines.values() if line.provider), key=lambda line: line.provider)


def _add(line: ProviderLine, charge: Charge) -> None:
    if charge.unpriced_model is not None:
        line.unpriced_models.add(charge.unpriced_model)
    line.spend_usd += charge.metered_usd
    line.fixed_usd += charge.fixed_usd
    if charge.metered_usd or charge.unpriced_model:
        line.usage_days.add(charge.day)


def _gaps(line: ProviderLine, ledger_days: set[date]) -> list[str]:
    gaps = []
    if line.unpriced_models:
        gaps.append(f"unpriced models left out of spend: {', '.join(sorted(line.unpriced_models))}")
    if line.billed_usd and line.provider in PLAN_INCLUDED and line.spend_usd > 0:
        gaps.append(PLAN_INCLUDED[line.provider])
    if line.billed_usd:
        _days_gap(gaps, "usage on", line.usage_days - ledger_days, "no ledger line")
        _days_gap(gaps, "billed on", ledger_days - line.usage_days, "no usage feed" if not line.fixed_usd else
                  "no usage feed (seats are billed up front and prorated here per day)")
    return gaps


def _days_gap(gaps: list[str], what: str, days: set[date], why: str) -> None:
    if days:
        first, last = min(days), max(days)
        span = f"{first}" if first == last else f"{first} to {last}"
        gaps.append(f"{what} {len(days)} day{'s' if len(days) != 1 else ''} ({span}) with {why}")


def reconcile_lines(lines: list[ProviderLine]) -> list[str]:
    text = []
    for line in lines:
        billed = ", ".join(
            f"{source} ${amount:,.2f} (difference {diff:+,.2f})"
            for (source, amount), diff in zip(sorted(line.billed_usd.items()), _sorted_diffs(line), strict=True)
        ) or "no ledger"
        fixed = f" + seats ${line.fixed_usd:,.2f}" if line.fixed_usd else ""
        text.append(f"{line.provider:<12} list-price spend ${line.spend_usd:,.2f}{fixed}; billed: {billed}")
        text.extend(f"{'':<12} {gap}" for gap in line.gaps)
    return text


def _sorted_diffs(line: ProviderLine) -> list[float]:
    diffs = line.difference_usd
    return [diffs[source] for source in sorted(line.billed_usd)]


def totals(lines: list[ProviderLine]) -> dict[str, float]:
    billed: dict[str, float] = defaultdict(float)
    for line in lines:
        for source, amount in line.billed_usd.items():
            billed[source] += amount
    return {"spend_usd": sum(line.spend_usd for line in lines), "fixed_usd": sum(line.fixed_usd for line in lines),
            **{f"billed_{source}_usd": amount for source, amount in sorted(billed.items())}}
