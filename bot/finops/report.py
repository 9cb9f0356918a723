"""`tokenworth finops`: a month's AI cost per group (team, workflow, model, provider, tool), metered and
fixed apart and together, beside what was billed, and each workflow's cost per outcome.

Invariant: the groups partition the month's charges (bot.finops.charges), so their totals are the
org's and equal `reconcile`'s for the same days. "provider" means who bills it. Billed money is known
per provider only: it is shown per group when the report is grouped by provider alone, and in the
totals always. Groups are listed by name, never ranked, and never a person: a group of people passes
`disclose` like a digest breakdown (at least `min_group_size` people in it and outside it, or all of them),
else it merges into `other`; groups of nobody (workflows, unattributed usage) are org-level figures.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.disclosure import OTHER, Breakdown, disclose
from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.core.workflows import WorkflowCost, rules_of, workflow_costs
from bot.errors import ConfigError
from bot.finops.charges import Charge, charges
from bot.governance.access import Showing, record_showing
from bot.reads.finops import org_usage, workflow_outcomes
from bot.reads.queries import billed_by_provider

DIMENSIONS = {"team": "team", "workflow": "workflow", "model": "model", "provider": "biller", "tool": "tool"}


def month_span(text: str) -> tuple[date, date]:
    """[first day, first day of the next month) of YYYY-MM."""
    try:
        year, month = (int(part) for part in text.split("-"))
        start = date(year, month, 1)
    except ValueError:
        raise ConfigError(f"--month: expected YYYY-MM, not {text!r}") from None
    return start, date(year + month // 12, month % 12 + 1, 1)


def dimensions(text: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in DIMENSIONS]
    if unknown or not names:
        raise ConfigError(f"--by: choose from {', '.join(DIMENSIONS)} (got {text!r})")
    return names


@dataclass
class Group:
    key: tuple[str, ...]
    metered_usd: float = 0.0
    fixed_usd: float = 0.0
    billed_usd: float | None = None
    unpriced_models: set[str] = field(default_factory=set)

    @property
    def cost_usd(self) -> float:
        return self.metered_usd + self.fixed_usd


@dataclass(frozen=True)
class FinopsReport:
    month: str
    by: tuple[str, ...]
    groups: tuple[Group, ...]
    billed_usd: dict[str, float]  # per ledger source, the whole month
    workflows: tuple[WorkflowCost, ...]
    outcome_kinds: dict[str, tuple[str, ...]]  # workflow -> its configured kinds

    @property
    def metered_usd(self) -> float:
        return sum(g.metered_usd for g in self.groups)

    @property
    def fixed_usd(self) -> float:
        return sum(g.fixed_usd for g in self.groups)

    def as_json(self) -> dict[str, Any]:
        return {
            "month": self.month, "by": list(self.by),
            "groups": [{**dict(zip(self.by, g.key, strict=True)), "metered_usd": g.metered_usd,
                        "fixed_usd": g.fixed_usd, "cost_usd": g.cost_usd, "billed_usd": g.billed_usd,
                        "unpriced_models": sorted(g.unpriced_models)} for g in self.groups],
            "totals": {"metered_usd": self.metered_usd, "fixed_usd": self.fixed_usd,
                       "cost_usd": self.metered_usd + self.fixed_usd, "billed_usd": self.billed_usd},
            "workflows": [w.as_json(self.outcome_kinds.get(w.name, ())) for w in self.workflows],
        }

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*self.by, "metered_usd", "fixed_usd", "cost_usd", "billed_usd"])
        for g in self.groups:
            writer.writerow([*g.key, _cents(g.metered_usd), _cents(g.fixed_usd), _cents(g.cost_usd),
                             "" if g.billed_usd is None else _cents(g.billed_usd)])
        return out.getvalue()

    def lines(self) -> list[str]:
        text = [f"AI cost {self.month} by {', '.join(self.by)} (metered at list price + fixed seats = cost):"]
        for g in self.groups:
            billed = "" if g.billed_usd is None else f"; billed ${g.billed_usd:,.2f}"
            text.append(f"  {' / '.join(g.key)}: ${g.metered_usd:,.2f} + ${g.fixed_usd:,.2f} = ${g.cost_usd:,.2f}"
                        f"{billed}")
        ledgers = ", ".join(f"{s} ${a:,.2f}" for s, a in sorted(self.billed_usd.items())) or "no ledger"
        text.append(f"  total: ${self.metered_usd:,.2f} + ${self.fixed_usd:,.2f} = "
                    f"${self.metered_usd + self.fixed_usd:,.2f}; billed: {ledgers}")
        text.extend(_workflow_line(w, self.outcome_kinds.get(w.name, ())) for w in self.workflows)
        return text


def _cents(value: float) -> str:
    return f"{value:.2f}"


def _workflow_line(cost: WorkflowCost, kinds: tuple[str, ...]) -> str:
    per = cost.cost_per_point
    head = f"  workflow {cost.name} ({cost.team}): ${cost.spend_usd:,.2f}"
    if per is not None:
        units = ", ".join(f"{units:g} {kind}" for kind, units in sorted(cost.outcomes.items()))
        return f"{head}, {units}: ${per:,.2f} per outcome point"
    return f"{head}; {cost.note(kinds) or 'no spend and no outcome'}"


def finops_report(
    session: Session, config: OrgConfig, prices: PriceTable, month: str, by: tuple[str, ...],
) -> FinopsReport:
    start, end = month_span(month)
    found = charges(session, config, prices, start, end)
    billed = billed_by_provider(session, start, end)
    record_showing(session, Showing("finops", "role", "admin", members=frozenset(
        c.person for c in found if c.person is not None), detail=f"{month} by {','.join(by)}"))
    groups = _groups(found, by, billed, config.policy.min_group_size)
    ledgers: dict[str, float] = defaultdict(float)
    for (_provider, source), amount in billed.items():
        ledgers[source] += amount
    return FinopsReport(month, by, groups, dict(ledgers), tuple(workflow_period(session, config, prices, start, end)),
                        {w.name: w.outcome_kinds for w in config.workflows})


def _groups(
    found: list[Charge], by: tuple[str, ...], billed: dict[tuple[str, str], float], floor: int,
) -> tuple[Group, ...]:
    fields = tuple(DIMENSIONS[name] for name in by)
    groups: dict[tuple[str, ...], Group] = {}
    members: dict[tuple[str, ...], set[int]] = defaultdict(set)
    for charge in found:
        key = charge.key(fields)
        group = groups.setdefault(key, Group(key))
        group.metered_usd += charge.metered_usd
        group.fixed_usd += charge.fixed_usd
        if charge.unpriced_model:
            group.unpriced_models.add(charge.unpriced_model)
        if charge.person is not None:
            members[key].add(charge.person)
    if by == ("provider",):  # org-level per provider, as `reconcile` shows it
        for (provider, _source), amount in billed.items():
            group = groups.setdefault((provider,), Group((provider,)))
            group.billed_usd = max(group.billed_usd or 0.0, amount)  # two ledgers of the same money: not summed
    else:
        groups = _floored(groups, members, floor, len(by))
    return tuple(groups[key] for key in sorted(groups))


def _floored(
    groups: dict[tuple[str, ...], Group], members: dict[tuple[str, ...], set[int]], floor: int, width: int,
) -> dict[tuple[str, ...], Group]:
    """Groups of people pass `disclose` as parts of a breakdown: one that holds fewer than `floor` people, or
    leaves fewer than that outside it, merges into `other`. Groups of nobody (workflows, unattributed) stay."""
    people = {key: frozenset(ids) for key, ids in members.items() if ids}
    kept = {key: group for key, group in groups.items() if key not in people}
    population = frozenset().union(*people.values()) if people else frozenset()
    sheet = disclose(population, floor, [Breakdown("group", {
        "\x1f".join(key): (groups[key].cost_usd, ids) for key, ids in people.items()})])
    shown = {tuple(f.key.removeprefix("group:").split("\x1f")) for f in sheet.parts("group")}
    other = Group((OTHER,) * width)
    for key in people:
        if key in shown:
            kept[key] = groups[key]
        else:
            other.metered_usd += groups[key].metered_usd
            other.fixed_usd += groups[key].fixed_usd
            other.unpriced_models |= groups[key].unpriced_models
    if people.keys() - shown:
        kept[other.key] = other
    return kept


def workflow_period(
    session: Session, config: OrgConfig, prices: PriceTable, start: date, end: date,
) -> list[WorkflowCost]:
    """Each configured workflow's spend and outcomes over [start, end), in config order."""
    usage = org_usage(session, config, prices.canonical, start, end)
    spend = [(rule.name, spend_of(fact, prices), fact.model) for fact, rule in usage.workflows]
    outcomes = [(name, kind, units) for name, kind, units, _day in workflow_outcomes(session, start, end)]
    costs = workflow_costs(rules_of(config.workflows), spend, outcomes, config.outcome_kinds)
    return [costs[w.name] for w in config.workflows]
