"""GitHub Copilot AI-credit billing: `GET /organizations/{org}/settings/billing/ai_credit/usage` for one day.

Every usage item (product, SKU, model) becomes a billed ledger line at its `netAmount` (what is billed after
the included credits, `discountAmount`, are taken off): reconciled against, never anyone's spend; the
per-person credits are usage from the usage-metrics report (bot.ingest.feeds.copilot_usage). The items
carry no date of their own, so the adapter relies on `timePeriod` naming one day (`year`, `month`, `day`:
the pull asks for one day at a time) and refuses a month or year report whole rather than guess its days.
Amounts are USD (the response names no currency; GitHub bills in USD). Uncertain, see
tests/fixtures/copilot_credit_billing.notes.md: the exact `sku` and `unitType` strings for AI credits.
A re-sent day replaces its lines by key (day, product, SKU, model); like the other cost reports, a line a
later report no longer lists is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.core.prices import normalise_model
from bot.errors import FeedError
from bot.ingest.feeds.base import BAD_RECORD, BaseFeed, BilledRow, Record, Rejection, group_key, load_json, reason

SOURCE = "copilot_credit_billing"


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    product: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    model: str = ""
    netAmount: float  # negative for a credit or adjustment line


class _Period(BaseModel):
    model_config = ConfigDict(extra="ignore")
    year: int
    month: int
    day: int


class CopilotCreditBillingFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"usageItems"' in head and '"timePeriod"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        document = load_json(path)
        items = document.get("usageItems") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise FeedError(f"{path}: expected a Copilot billing usage report with a usageItems list")
        day = _day(path, document.get("timePeriod"))
        for index, raw in enumerate(items):
            yield _record(f"usageItems[{index}]", raw, day)


def _day(path: Path, raw: Any) -> date:
    try:
        period = _Period.model_validate(raw)
        return date(period.year, period.month, period.day)
    except BAD_RECORD as exc:
        raise FeedError(f"{path}: timePeriod must name one day (year, month, day): {reason(exc)}") from None


def _record(where: str, raw: Any, day: date) -> Record | Rejection:
    try:
        item = _Item.model_validate(raw)
    except BAD_RECORD as exc:
        return Rejection(where, reason(exc))
    model = normalise_model(item.model) if item.model.strip() else None
    key = group_key(day, (("product", item.product), ("sku", item.sku), ("model", item.model or None)))
    row = BilledRow(source=SOURCE, record_key=key, day=day, provider="github", amount_usd=item.netAmount,
                    description=f"{item.product} {item.sku}", model=model)
    return Record(where, (row,))


FEED = CopilotCreditBillingFeed()
