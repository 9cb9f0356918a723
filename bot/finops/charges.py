"""The org's AI cost as charges: every counted-once usage fact and every seat-day, each with who it is
for (team, workflow), what it ran on (model, provider, tool) and who bills it.

Invariant: `reconcile`, `finops`, the FOCUS export and budgets all sum these charges, so their totals
agree. Metered is usage at list price (a model without a price is named, never $0); fixed is seats,
prorated per UTC day. A person's usage is their team's; a workflow's usage is its owner team's;
nobody's usage is `unattributed`. No charge names a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.facts import UsageFact
from bot.core.metrics import spend_of, tokens_of
from bot.core.prices import PriceTable
from bot.core.seats import SEAT_TOOLS, daily_price, seat_spans
from bot.reads.finops import org_usage, seat_snapshots

UNATTRIBUTED = "unattributed"
PEOPLE = "people"  # the workflow column of people's own usage and seats
# Who sends the bill: a tool that resells models bills its own events (Cursor's Claude and GPT requests
# are on Cursor's invoice, not Anthropic's or OpenAI's); otherwise the model's provider does.
BILLER_BY_TOOL = {"cursor": "cursor", "copilot": "github", "copilot-cli": "github", "windsurf": "windsurf"}
SEAT_BILLER = {"copilot": "github", "cursor": "cursor", "claude": "anthropic"}


@dataclass(frozen=True)
class Charge:
    day: date
    team: str
    workflow: str
    model: str
    provider: str
    tool: str
    biller: str
    metered_usd: float = 0.0
    fixed_usd: float = 0.0
    unpriced_model: str | None = None  # usage of a model without a price: counted nowhere in the dollars
    tokens: int = 0
    requests: int = 0
    person: int | None = field(default=None, repr=False)  # for the privacy floor only: never shown

    def key(self, by: Iterable[str]) -> tuple[str, ...]:
        return tuple(str(getattr(self, name)) for name in by)


def biller_of(tool: str, provider: str) -> str:
    return BILLER_BY_TOOL.get(tool, provider)


def charges(session: Session, config: OrgConfig, prices: PriceTable, start: date, end: date) -> list[Charge]:
    """Every charge on days in [start, end): usage (people's, workflows', nobody's) and seat-days."""
    usage = org_usage(session, config, prices.canonical, start, end)
    found = [replace(_usage_charge(f, usage.teams.get(f.person_id or -1) or UNATTRIBUTED, PEOPLE, prices),
                     person=f.person_id) for f in usage.people]
    found += [_usage_charge(f, rule.team, rule.name, prices) for f, rule in usage.workflows]
    found += [_usage_charge(f, UNATTRIBUTED, UNATTRIBUTED, prices) for f, _, _ in usage.nobody]
    return found + seat_charges(session, config, usage.teams, start, end)


def _usage_charge(fact: UsageFact, team: str, workflow: str, prices: PriceTable) -> Charge:
    usd = spend_of(fact, prices)
    return Charge(fact.day, team, workflow, prices.canonical(fact.model), fact.provider, fact.tool,
                  biller_of(fact.tool, fact.provider), metered_usd=usd or 0.0,
                  unpriced_model=fact.model if usd is None else None, tokens=tokens_of(fact).total,
                  requests=fact.requests)


def seat_charges(
    session: Session, config: OrgConfig, teams: dict[int, str | None], start: date, end: date,
) -> list[Charge]:
    """One charge per seat per UTC day it is assigned in [start, end)."""
    found = []
    for span in seat_spans(seat_snapshots(session, end), config.seats):
        tool = SEAT_TOOLS.get(span.source, span.source)
        team = teams.get(span.owner or -1) or UNATTRIBUTED
        day = max(start, span.first)
        biller = SEAT_BILLER.get(tool, tool)
        while day < end and (span.last is None or day <= span.last):
            found.append(Charge(day, team, PEOPLE, f"{tool} {span.plan} seat", biller, tool, biller,
                                fixed_usd=daily_price(span.monthly_usd), person=span.owner))
            day += timedelta(days=1)
    return found
