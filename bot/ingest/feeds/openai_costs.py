"""OpenAI organization costs: the org's billed ledger per day, amounts in dollars.

A page lists each line (day, project, key and line item) once: a line repeated in a file is rejected
by the store (`unique_keys`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from bot.core.prices import normalise_model
from bot.ingest.feeds.base import (
    BAD_RECORD,
    BaseFeed,
    BilledRow,
    Record,
    Rejection,
    bucket_records,
    reason,
    report_buckets,
)

SOURCE = "openai_costs"
DIMENSIONS = ("project_id", "api_key_id", "line_item")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Amount(_Lenient):
    value: float = Field(strict=False)  # JSON numbers: 3 is as good as 3.0
    currency: str = "usd"


class _Result(_Lenient):
    amount: _Amount
    line_item: str | None = None
    project_id: str | None = None
    api_key_id: str | None = None


class _Bucket(_Lenient):
    start_time: NonNegativeInt
    results: list[Any]


class OpenAICostsFeed(BaseFeed):
    name = SOURCE
    unique_keys = True

    def sniff(self, head: str) -> bool:
        return '"organization.costs.result"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from report_buckets(path, "an OpenAI costs page", _bucket)


def _bucket(where: str, raw: Any) -> Iterator[Record | Rejection]:
    try:
        bucket = _Bucket.model_validate(raw)
        day = datetime.fromtimestamp(bucket.start_time, UTC).date()
    except BAD_RECORD as exc:
        yield Rejection(where, reason(exc))
        return
    yield from bucket_records(where, bucket.results, lambda result: (_row(_Result.model_validate(result), day),))


def _row(result: _Result, day: date) -> BilledRow:
    if result.amount.currency.lower() != "usd":
        raise ValueError(f"amount.currency: only usd is supported (got {result.amount.currency!r})")
    if not math.isfinite(result.amount.value):
        raise ValueError(f"amount.value: expected a finite number (got {result.amount.value})")
    key = f"{day}|" + "|".join(f"{d}={getattr(result, d)}" for d in DIMENSIONS if getattr(result, d) is not None)
    return BilledRow(
        source=SOURCE, record_key=key, day=day, provider="openai", amount_usd=result.amount.value,
        description=result.line_item, model=line_item_model(result.line_item),
    )


def line_item_model(line_item: str | None) -> str | None:
    """`gpt-5-mini-2025-08-07, cached input` -> `gpt-5-mini`; a line item without a model -> None."""
    if not line_item or ", " not in line_item:
        return None
    model = line_item.rsplit(", ", 1)[0].strip()
    return normalise_model(model) if model else None


FEED = OpenAICostsFeed()
