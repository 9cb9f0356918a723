"""Claude Enterprise Analytics `cost_report` page: the Enterprise org's billed ledger per UTC day.

Each result of a daily bucket becomes a ledger line at `amount` (post-discount, pre-credit, fractional
cents as a decimal string, read exactly), never anyone's spend. Its key is the day and every group-by
dimension the result carries. A grouped bucket lists at most its top 100 groups with no remainder row,
so a bucket of 100 results may be short: the pull warns about it (bot.ingest.pull.claude_enterprise);
the lines it does list are stored as they are. A report lists each line once (`unique_keys`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core.prices import normalise_model
from bot.ingest.feeds.anthropic_cost import cents
from bot.ingest.feeds.base import (
    BaseFeed,
    BilledRow,
    Record,
    Rejection,
    dated_buckets,
    group_key,
)

SOURCE = "claude_enterprise_cost"
GROUP_CAP = 100  # the vendor's top-N groups per bucket
DIMENSIONS = ("product", "model", "cost_type", "token_type", "context_window", "inference_geo", "speed",
              "rbac_group_id", "claude_tag_category", "claude_tag_user_id", "slack_channel_id")


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    amount: str
    list_amount: str
    currency: str
    product: str | None = None
    model: str | None = None
    cost_type: str | None = None
    token_type: str | None = None
    context_window: str | None = None
    inference_geo: str | None = None
    speed: str | None = None
    rbac_group_id: str | None = None
    claude_tag_category: str | None = None
    claude_tag_user_id: str | None = None
    slack_channel_id: str | None = None


class ClaudeEnterpriseCostFeed(BaseFeed):
    name = SOURCE
    priority = 1  # before anthropic_cost, whose signature (amount, currency, starting_at) this report also carries

    def sniff(self, head: str) -> bool:
        return '"list_amount"' in head and '"starting_at"' in head and '"results"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from dated_buckets(path, "a Claude Enterprise cost_report page", _row)


def _row(raw: Any, day: date) -> BilledRow:
    result = _Result.model_validate(raw)
    if result.currency.upper() != "USD":
        raise ValueError(f"currency: only USD is supported (got {result.currency[:10]!r})")
    amount = cents(result.amount) / 100
    key = group_key(day, ((d, getattr(result, d)) for d in DIMENSIONS))
    description = " ".join(str(getattr(result, d)) for d in ("product", "cost_type", "token_type")
                           if getattr(result, d) is not None) or None
    return BilledRow(source=SOURCE, record_key=key, day=day, provider="anthropic", amount_usd=float(amount),
                     description=description, model=normalise_model(result.model) if result.model else None)


def capped_buckets(document: Any) -> list[str]:
    """The starting_at of every bucket that lists GROUP_CAP results: those may have dropped groups."""
    buckets = document.get("data") if isinstance(document, dict) else None
    return [str(b.get("starting_at")) for b in buckets or [] if isinstance(b, dict)
            and isinstance(b.get("results"), list) and len(b["results"]) >= GROUP_CAP]


FEED = ClaudeEnterpriseCostFeed()
