"""`tokenworth reconcile`: list-price spend against what the vendors billed, per provider, for FinOps.

Spend is everything counted once, people's and nobody's; billed comes from the vendors' own ledgers
(cost reports, FOCUS exports), each shown on its own because they describe the same money.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from bot.config.org import OrgConfig
from bot.core.attribution import count_once
from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.reads.queries import billed_by_provider, unattributed_facts, usage_facts
from storage.models import Person


@dataclass
class ProviderLine:
    provider: str
    spend_usd: float = 0.0
    unpriced_models: set[str] = field(default_factory=set)
    billed_usd: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "spend_usd": self.spend_usd, "billed_usd": self.billed_usd,
                "unpriced_models": sorted(self.unpriced_models)}


def reconcile(session: Session, config: OrgConfig, prices: PriceTable, week: Week) -> list[ProviderLine]:
    ids = [pid for pid in session.exec(select(Person.id)).all() if pid is not None]
    people = count_once(usage_facts(session, ids, week.monday, week.end), prices.canonical)
    nobody = [fact for fact, _kind, _value in unattributed_facts(session, config.gateways, week.monday, week.end)]
    lines: dict[str, ProviderLine] = defaultdict(lambda: ProviderLine(""))
    for fact in [*people, *nobody]:
        line = lines.setdefault(fact.provider, ProviderLine(fact.provider))
        spend = spend_of(fact, prices)
        if spend is None:
            line.unpriced_models.add(fact.model)
        else:
            line.spend_usd += spend
    for (provider, source), amount in billed_by_provider(session, week.monday, week.end).items():
        lines.setdefault(provider, ProviderLine(provider)).billed_usd[source] = amount
    return sorted((line for line in lines.values() if line.provider), key=lambda line: line.provider)


def reconcile_lines(lines: list[ProviderLine]) -> list[str]:
    text = []
    for line in lines:
        billed = ", ".join(
            f"{source} ${amount:,.2f}" for source, amount in sorted(line.billed_usd.items())
        ) or "no ledger"
        text.append(f"{line.provider:<12} list-price spend ${line.spend_usd:,.2f}; billed: {billed}")
        if line.unpriced_models:
            text.append(f"{'':<12} unpriced models (left out of spend): {', '.join(sorted(line.unpriced_models))}")
    return text
