"""FinOps FOCUS 1.2 cost and usage CSV: every charge row becomes a line of the billed ledger.

The file is streamed row by row. A row's key is a hash of its identifying columns (never its
amounts), so the same export ingested again is a no-op and a restated charge replaces the old one.
FOCUS has no charge id, and an export may list two identical charges (two purchases of the same SKU
in one period): the second is numbered (`key#2`), a charge of its own, never merged into the first.
That numbering is part of the key, not deduplication, which is the store's alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from bot.core.prices import normalise_model
from bot.core.weeks import to_utc
from bot.ingest.feeds._csv import Cells, header_of, read_rows
from bot.ingest.feeds.base import BAD_RECORD, BaseFeed, BilledRow, Record, Rejection, reason

SOURCE = "focus"
# The FOCUS columns this adapter reads: a header without them is not usable. FOCUS 1.3 renames
# ProviderName to ServiceProviderName.
REQUIRED = (
    "BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargeDescription", "ProviderName|ServiceProviderName",
)
# What makes a charge row the same charge (whichever of them the export has).
IDENTIFYING = (
    "ChargePeriodStart", "ChargePeriodEnd", "BillingAccountId", "ProviderName", "ServiceProviderName", "SubAccountId",
    "ChargeCategory", "ChargeClass", "SkuId", "SkuPriceId", "ChargeDescription", "ResourceId", "CommitmentDiscountId",
    "x_SourceFeed", "x_Model", "x_TokenType",
)


class FocusFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return {"BilledCost", "ChargePeriodStart"} <= header_of(head)

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        seen: dict[str, int] = {}
        for line, cells in read_rows(path, REQUIRED):
            where = f"line {line}"
            if isinstance(cells, str):
                yield Rejection(where, cells)
                continue
            try:
                item: Record | Rejection = Record(where, (_row(cells, seen),))
            except BAD_RECORD as exc:
                item = Rejection(where, reason(exc))
            yield item


def _row(cells: Cells, seen: dict[str, int]) -> BilledRow:
    problems, amount, start = [], None, None
    try:
        amount = Decimal(cells["BilledCost"])
        if not amount.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problems.append(f"BilledCost: expected a decimal number (got {cells['BilledCost'][:40]!r})")
    try:
        start = datetime.fromisoformat(cells["ChargePeriodStart"])
    except ValueError:
        got = cells["ChargePeriodStart"][:40]
        problems.append(f"ChargePeriodStart: expected an ISO 8601 UTC datetime (got {got!r})")
    if cells["BillingCurrency"].upper() != "USD":
        problems.append(f"BillingCurrency: only USD is supported (got {cells['BillingCurrency'][:10]!r})")
    provider = cells.get("ProviderName") or cells.get("ServiceProviderName") or ""
    if not provider:
        problems.append("ProviderName: empty")
    if problems or amount is None or start is None:
        raise ValueError("; ".join(problems))
    model = cells.get("x_Model") or ""
    return BilledRow(
        source=SOURCE, record_key=_key(cells, seen), day=to_utc(start).date(), provider=provider.lower(),
        amount_usd=float(amount), description=cells["ChargeDescription"] or None,
        model=normalise_model(model) if model else None,
    )


def _key(cells: Cells, seen: dict[str, int]) -> str:
    """A stable hash of the identifying columns; a repeat in the same file is numbered, not merged."""
    identity = "\x1f".join(f"{c}={cells[c]}" for c in IDENTIFYING if c in cells)
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    seen[key] = seen.get(key, 0) + 1
    return key if seen[key] == 1 else f"{key}#{seen[key]}"


FEED = FocusFeed()
