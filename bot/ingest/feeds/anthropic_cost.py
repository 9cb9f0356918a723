"""Anthropic Admin API cost report: the org's billed ledger per day, amounts in cents as decimal strings.

A report lists each line (day and group-by dimensions) once: a line repeated in a file is rejected
by the store (`unique_keys`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.core.prices import normalise_model
from bot.ingest.feeds.base import (
    BaseFeed,
    BilledRow,
    Record,
    Rejection,
    dated_buckets,
)

SOURCE = "anthropic_cost"
# Every group-by dimension (description expands into the ones after it): all are part of the key.
DIMENSIONS = (
    "workspace_id", "description", "model", "cost_type", "token_type",
    "context_window", "service_tier", "inference_geo",
)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Result(_Lenient):
    amount: str
    currency: str = "USD"
    workspace_id: str | None = None
    description: str | None = None
    model: str | None = None
    cost_type: str | None = None
    token_type: str | None = None
    context_window: str | None = None
    service_tier: str | None = None
    inference_geo: str | None = None


class AnthropicCostFeed(BaseFeed):
    name = SOURCE
    unique_keys = True

    def sniff(self, head: str) -> bool:
        return '"amount"' in head and '"starting_at"' in head and '"list_amount"' not in head and any(
            f'"{key}"' in head for key in ("cost_type", "token_type", "currency")
        )  # list_amount: the Claude Enterprise cost report (claude_enterprise_cost)

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from dated_buckets(path, "an Anthropic cost report page", _row)


def _row(raw: Any, day: date) -> BilledRow:
    result = _Result.model_validate(raw)
    if result.currency.upper() != "USD":
        raise ValueError(f"currency: only USD is supported (got {result.currency!r})")
    key = f"{day}|" + "|".join(f"{d}={getattr(result, d)}" for d in DIMENSIONS if getattr(result, d) is not None)
    return BilledRow(
        source=SOURCE, record_key=key, day=day, provider="anthropic", amount_usd=float(cents(result.amount) / 100),
        description=result.description, model=normalise_model(result.model) if result.model else None,
    )


def cents(text: str) -> Decimal:
    """The report's decimal string, exactly: never through a float."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"amount: expected a decimal string like \"123.45\" (got {text[:40]!r})") from None
    if not amount.is_finite():
        raise ValueError(f"amount: expected a finite decimal (got {text[:40]!r})")
    return amount


FEED = AnthropicCostFeed()
