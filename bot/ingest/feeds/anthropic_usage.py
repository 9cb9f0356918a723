"""Anthropic Admin API messages usage report: daily buckets of tokens per group-by dimensions.

A bucket is the complete usage of its UTC day, so its records carry the (anthropic_usage, day)
window and rows of that day missing from a restated bucket are deleted. One record per result
(a bad result is rejected alone); a bucket with a rejected result is no longer known complete
and carries no window. A report lists each group once: a group repeated in a file is rejected by
the store (`unique_keys`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.core.prices import normalise_model
from bot.core.weeks import to_utc
from bot.ingest.feeds.base import (
    BAD_RECORD,
    ActivityRow,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    Row,
    UsageRow,
    Window,
    bucket_records,
    group_key,
    reason,
    report_buckets,
)

SOURCE = "anthropic_usage"
_SIGNATURE = re.compile(r'"uncached_input_tokens"\s*:')  # a key: the cost report has it only as a value
# Every group-by dimension: each one present is part of a row's natural key.
DIMENSIONS = (
    "account_id", "api_key_id", "service_account_id", "workspace_id", "model",
    "service_tier", "context_window", "inference_geo", "speed",
)
# Whose a row is: what a filtered report narrows itself to (bot.ingest.coverage).
WHO = ("account_id", "api_key_id", "service_account_id", "workspace_id")


Count = Annotated[int, Field(ge=0)]  # the range a column holds is checked once, by the store (bot.ingest.bounds)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _CacheCreation(_Lenient):
    ephemeral_1h_input_tokens: Count = 0
    ephemeral_5m_input_tokens: Count = 0


class _ServerTools(_Lenient):
    web_search_requests: Count = 0


class _Result(_Lenient):
    account_id: str | None = None
    api_key_id: str | None = None
    service_account_id: str | None = None
    workspace_id: str | None = None
    model: str | None = None
    service_tier: str | None = None
    context_window: str | None = None
    inference_geo: str | None = None
    speed: str | None = None
    uncached_input_tokens: Count
    cache_read_input_tokens: Count = 0
    cache_creation: _CacheCreation = _CacheCreation()
    output_tokens: Count = 0
    server_tool_use: _ServerTools | None = None
    requests: Count = 0


class _Bucket(_Lenient):
    starting_at: datetime = Field(strict=False)
    ending_at: datetime | None = Field(default=None, strict=False)
    results: list[Any]


class AnthropicUsageFeed(BaseFeed):
    name = SOURCE
    unique_keys = True

    def sniff(self, head: str) -> bool:
        return bool(_SIGNATURE.search(head)) and '"starting_at"' in head and '"user_actor"' not in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from report_buckets(path, "an Anthropic usage report page", _bucket)


def _bucket(where: str, raw: Any) -> Iterator[Record | Rejection]:
    try:
        bucket = _Bucket.model_validate(raw)
        day = _day(bucket.starting_at, bucket.ending_at)
    except BAD_RECORD as exc:
        yield Rejection(where, reason(exc))
        return
    yield from bucket_records(
        where, bucket.results, lambda result: _rows(_Result.model_validate(result), day), Window(SOURCE, day, WHO),
    )


def _day(start: datetime, end: datetime | None) -> date:
    if start.tzinfo is None:
        raise ValueError(f"starting_at: expected a UTC timestamp like 2026-11-09T00:00:00Z (got {start.isoformat()})")
    start = to_utc(start)
    if start.time() != datetime.min.time() or (end is not None and to_utc(end) - start != timedelta(days=1)):
        raise ValueError("starting_at/ending_at: only whole UTC days are supported (bucket_width=1d), "
                         f"got {start.isoformat()}")
    return start.date()


WEB_SEARCH = "web-search"
WEB_SEARCH_USD = 10 / 1000  # Anthropic's list price: $10 per 1,000 searches


def _rows(result: _Result, day: date) -> tuple[Row, ...]:
    identity = _identity(result)
    key = group_key(day, ((d, getattr(result, d)) for d in DIMENSIONS))
    cache = result.cache_creation
    usage = UsageRow(
        source=SOURCE, record_key=key, identity=identity, day=day, provider="anthropic",
        tool="claude_code" if result.account_id else "anthropic_api",
        model=normalise_model(result.model) if result.model else "unknown",
        input_tokens=result.uncached_input_tokens, output_tokens=result.output_tokens,
        cache_read_tokens=result.cache_read_input_tokens,
        cache_write_tokens=cache.ephemeral_5m_input_tokens + cache.ephemeral_1h_input_tokens,
        cache_write_1h_tokens=cache.ephemeral_1h_input_tokens, requests=result.requests,
    )
    searches = result.server_tool_use.web_search_requests if result.server_tool_use else 0
    if searches > 0:
        search = replace(usage, record_key=f"{key}|web_search", model=WEB_SEARCH, input_tokens=0, output_tokens=0,
                         cache_read_tokens=0, cache_write_tokens=0, cache_write_1h_tokens=0, requests=searches,
                         cost_usd=searches * WEB_SEARCH_USD)
        return usage, search, ActivityRow(SOURCE, key, identity, day, "web_searches", searches)
    return (usage,)


def _identity(result: _Result) -> IdentityRef:
    """OAuth usage (Claude Code logged in) names the account; API usage its key; the rest its workspace."""
    if result.account_id:
        return IdentityRef.of("anthropic_account", result.account_id)
    if result.api_key_id:
        return IdentityRef.of("api_key", result.api_key_id)
    return IdentityRef.of("anthropic_workspace", result.workspace_id or "default")


FEED = AnthropicUsageFeed()
