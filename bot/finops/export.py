"""`tokenworth export focus`: a month of tokenworth's counted-once AI costs as a FinOps FOCUS 1.3 CSV.

Invariant: one row per (UTC day, team, workflow, model, biller, tool) of usage at list price, and one
per (day, team, seat plan) of seats prorated per day (ChargeCategory Purchase, Recurring), so the rows
sum to `finops`'s metered and fixed totals. Team and workflow go in `Tags`; no column names a person,
and rows are never ordered by cost. A team tag on people's costs passes `disclose` (the team had at least
`min_group_size` people with costs that month), else it reads `other`, as the digest withholds a small
team's figures; workflows' costs are nobody's and keep their owner team. Usage of a model without a price
has no cost and is left out.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.disclosure import OTHER, Total, disclose
from bot.core.prices import PriceTable
from bot.finops.charges import Charge, charges
from bot.finops.report import month_span
from bot.governance.access import Showing, record_showing

FOCUS_VERSION = "1.3"
# Every FOCUS 1.2 column (FinOps-Open-Cost-and-Usage-Spec, specification/columns) and 1.3's provider and
# contract columns, in the spec's order of names; those tokenworth has nothing for stay empty.
COLUMNS = (
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType", "BillingCurrency",
    "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId", "CapacityReservationStatus", "ChargeCategory",
    "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd", "ChargePeriodStart",
    "CommitmentDiscountCategory", "CommitmentDiscountId", "CommitmentDiscountName", "CommitmentDiscountQuantity",
    "CommitmentDiscountStatus", "CommitmentDiscountType", "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit",
    "ContractApplied", "ContractedCost", "ContractedUnitPrice", "EffectiveCost", "HostProviderName", "InvoiceId",
    "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory", "PricingCurrency",
    "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId",
    "ResourceName", "ResourceType", "ServiceCategory", "ServiceName", "ServiceProviderName", "ServiceSubcategory",
    "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "SubAccountId", "SubAccountName", "SubAccountType", "Tags",
    "x_Model", "x_Tool",
)
NAMES = {"anthropic": "Anthropic", "openai": "OpenAI", "cursor": "Cursor", "github": "GitHub", "google": "Google",
         "mistral": "Mistral", "windsurf": "Windsurf"}
SERVICES = {"claude_code": "Claude Code", "cursor": "Cursor", "copilot": "GitHub Copilot", "litellm": "LiteLLM gateway",
            "anthropic_api": "Claude API", "openai_api": "OpenAI API", "claude": "Claude"}
Key = tuple[date, str, str, str, str, str]


def export_focus(session: Session, config: OrgConfig, prices: PriceTable, month: str, out: Path) -> dict[str, float]:
    """Write the month's FOCUS CSV to `out`; returns BilledCost per provider as written."""
    start, end = month_span(month)
    found = _team_floor(charges(session, config, prices, start, end), config.policy.min_group_size)
    rows = [_row(key, group, start, end) for key, group in sorted(_grouped(found).items())]
    record_showing(session, Showing("export", "role", "admin", members=frozenset(
        c.person for c in found if c.person is not None), detail=f"FOCUS {FOCUS_VERSION} {month}"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMNS, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    totals: dict[str, float] = defaultdict(float)
    for row in rows:
        totals[row["ProviderName"].lower()] += float(row["BilledCost"])
    return dict(totals)


def _team_floor(found: list[Charge], floor: int) -> list[Charge]:
    """People's charges keep their team only where `disclose` shows that team's month; else the team is `other`."""
    people: dict[str, set[int]] = defaultdict(set)
    for charge in found:
        if charge.person is not None:
            people[charge.team].add(charge.person)
    shown = {team for team, ids in people.items()
             if disclose(frozenset(ids), floor, [Total("cost_usd", 0.0)]).get("cost_usd") is not None}
    return [c if c.person is None or c.team in shown else replace(c, team=OTHER) for c in found]


def _grouped(found: list[Charge]) -> dict[Key, list[Charge]]:
    groups: dict[Key, list[Charge]] = defaultdict(list)
    for charge in found:
        if charge.metered_usd or charge.fixed_usd:
            groups[(charge.day, charge.team, charge.workflow, charge.model, charge.biller, charge.tool)].append(charge)
    return groups


def _row(key: Key, group: list[Charge], start: date, end: date) -> dict[str, str]:
    day, team, workflow, model, biller, tool = key
    seat = any(c.fixed_usd for c in group)
    cost = sum(c.metered_usd + c.fixed_usd for c in group)
    tokens, requests = sum(c.tokens for c in group), sum(c.requests for c in group)
    quantity, unit, consumed, consumed_unit = _quantities(seat, tokens, requests, len(group))
    provider = NAMES.get(biller, biller.title())
    money = _decimal(cost)
    return {
        "BilledCost": money, "BillingAccountId": "tokenworth", "BillingAccountName": "tokenworth",
        "BillingCurrency": "USD", "BillingPeriodStart": _instant(start), "BillingPeriodEnd": _instant(end),
        "ChargeCategory": "Purchase" if seat else "Usage", "ChargeClass": "",
        "ChargeDescription": f"{model} ({'prorated per day' if seat else 'usage at list price'})",
        "ChargeFrequency": "Recurring" if seat else "Usage-Based",
        "ChargePeriodStart": _instant(day), "ChargePeriodEnd": _instant(day + timedelta(days=1)),
        "ConsumedQuantity": "" if seat else str(consumed), "ConsumedUnit": "" if seat else consumed_unit,
        "ContractedCost": money, "ContractedUnitPrice": _decimal(cost / quantity), "EffectiveCost": money,
        "HostProviderName": provider, "InvoiceIssuerName": provider, "ListCost": money,
        "ListUnitPrice": _decimal(cost / quantity), "PricingCategory": "Standard",
        "PricingQuantity": _decimal(quantity), "PricingUnit": unit, "ProviderName": provider,
        "PublisherName": NAMES.get(group[0].provider, group[0].provider.title()),
        "ServiceCategory": "Developer Tools" if seat else "AI and Machine Learning",
        "ServiceName": SERVICES.get(tool, tool), "ServiceProviderName": provider,
        "ServiceSubcategory": "Development Environments" if seat else "Generative AI",
        "SkuId": f"{biller}:{model}", "SkuPriceId": f"{biller}:{model}:list",
        "Tags": json.dumps({"team": team, "workflow": workflow}, sort_keys=True), "x_Model": model, "x_Tool": tool,
    }


def _quantities(seat: bool, tokens: int, requests: int, seats: int) -> tuple[float, str, int, str]:
    """(PricingQuantity, PricingUnit, ConsumedQuantity, ConsumedUnit) of one row."""
    if seat:
        return float(seats), "Days", seats, "Days"
    if tokens:
        return tokens / 1_000_000, "1000000 Tokens", tokens, "Tokens"
    return float(max(requests, 1)), "Requests", max(requests, 1), "Requests"


def _instant(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def _decimal(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") or "0"
