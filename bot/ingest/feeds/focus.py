"""FinOps FOCUS 1.2, 1.3 and 1.4 cost and usage CSV: every charge row becomes a line of the billed ledger.

The file is streamed row by row. A row's key is a hash of its identifying columns (never its
amounts), so the same export ingested again is a no-op and a restated charge replaces the old one.
FOCUS has no charge id, and an export may list two identical charges (two purchases of the same SKU
in one period): the second is numbered (`key#2`), a charge of its own, never merged into the first.
That numbering is part of the key, not deduplication, which is the store's alone.

Versions: the provider is ProviderName (1.2), else ServiceProviderName (added in 1.3, where ProviderName
and PublisherName are deprecated; 1.4 drops both). A 1.3+ split cost allocation replaces an origin charge
by allocated charges that differ only in their Allocated* columns and whose costs sum to the origin's:
those columns are part of the key, so each allocated charge is a line of its own under a stable key, and
the ledger total is the origin's. HostProviderName and the 1.4 BillingPeriod and InvoiceDetail datasets
are not read (a file of those datasets has no BilledCost and is not detected as FOCUS cost and usage).
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
from bot.ingest.feeds.base import BaseFeed, BilledRow, Record, Rejection, read_record

SOURCE = "focus"
# The FOCUS columns this adapter reads: a header without them is not usable. FOCUS 1.3 renames
# ProviderName to ServiceProviderName; 1.4 has only the new name.
REQUIRED = (
    "BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargeDescription", "ProviderName|ServiceProviderName",
)
# What makes a charge row the same charge (whichever of them the export has). The provider counts as
# ProviderName whichever version names it, so the same charge keeps its key across 1.2, 1.3 and 1.4 exports.
IDENTIFYING = (
    "ChargePeriodStart", "ChargePeriodEnd", "BillingAccountId", "ProviderName", "SubAccountId",
    "ChargeCategory", "ChargeClass", "SkuId", "SkuPriceId", "ChargeDescription", "ResourceId", "CommitmentDiscountId",
    "x_SourceFeed", "x_Model", "x_TokenType",
)
# FOCUS 1.3+ split cost allocation: what tells allocated charges of one origin charge apart (when set).
ALLOCATION = ("AllocatedMethodId", "AllocatedResourceId", "AllocatedResourceName", "AllocatedTags")


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
            yield read_record(where, lambda cells, seen: (_row(cells, seen),), cells, seen)


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
        problems.append(f"{'ProviderName' if 'ProviderName' in cells else 'ServiceProviderName'}: empty")
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
    identity = "\x1f".join(_identifying(cells))
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    seen[key] = seen.get(key, 0) + 1
    return key if seen[key] == 1 else f"{key}#{seen[key]}"


def _identifying(cells: Cells) -> Iterator[str]:
    for column in IDENTIFYING:
        if column in cells:
            yield f"{column}={cells[column]}"
        elif column == "ProviderName" and "ServiceProviderName" in cells:  # FOCUS 1.4 names it only this way
            yield f"{column}={cells['ServiceProviderName']}"
    yield from (f"{column}={cells[column]}" for column in ALLOCATION if cells.get(column))


FEED = FocusFeed()
