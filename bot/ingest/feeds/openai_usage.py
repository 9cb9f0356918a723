"""OpenAI organization usage (completions): daily buckets of tokens per project, user, key and model.

As with the Anthropic usage report, a bucket is the complete usage of its UTC day: its records
carry the (openai_usage, day) window unless one of its results was rejected. A page lists each group
once: a group repeated in a file is rejected by the store (`unique_keys`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from bot.core.prices import normalise_model
from bot.ingest.feeds.base import (
    BAD_RECORD,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    UsageRow,
    Window,
    bucket_records,
    group_key,
    reason,
    report_buckets,
)

SOURCE = "openai_usage"
DAY_SECONDS = 86_400
DIMENSIONS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
WHO = ("project_id", "user_id", "api_key_id")  # whose a row is: what a filtered report narrows to


Count = Annotated[int, Field(ge=0)]  # the range a column holds is checked once, by the store (bot.ingest.bounds)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Result(_Lenient):
    project_id: str | None = None
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    batch: bool | None = None
    service_tier: str | None = None
    input_tokens: Count
    output_tokens: Count = 0
    input_cached_tokens: Count | None = None
    input_cache_write_tokens: Count | None = None
    num_model_requests: Count = 0


class _Bucket(_Lenient):
    start_time: int = Field(ge=0)
    end_time: int | None = Field(default=None, ge=0)
    results: list[Any]


class OpenAIUsageFeed(BaseFeed):
    name = SOURCE
    unique_keys = True

    def sniff(self, head: str) -> bool:
        return '"organization.usage.completions.result"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from report_buckets(path, "an OpenAI usage page", _bucket)


def _bucket(where: str, raw: Any) -> Iterator[Record | Rejection]:
    try:
        bucket = _Bucket.model_validate(raw)
        day = _day(bucket)
    except BAD_RECORD as exc:
        yield Rejection(where, reason(exc))
        return
    yield from bucket_records(
        where, bucket.results, lambda result: (_row(_Result.model_validate(result), day),), Window(SOURCE, day, WHO),
    )


def _day(bucket: _Bucket) -> date:
    whole_day = bucket.end_time is None or bucket.end_time - bucket.start_time == DAY_SECONDS
    if bucket.start_time % DAY_SECONDS or not whole_day:
        raise ValueError("start_time/end_time: only whole UTC days are supported (bucket_width=1d), "
                         f"got {bucket.start_time}")
    return datetime.fromtimestamp(bucket.start_time, UTC).date()


def _row(result: _Result, day: date) -> UsageRow:
    cached = result.input_cached_tokens or 0
    written = result.input_cache_write_tokens or 0
    uncached = result.input_tokens - cached - written
    if uncached < 0:
        raise ValueError(f"input_tokens: {result.input_tokens} is less than "
                         f"input_cached_tokens + input_cache_write_tokens ({cached + written})")
    key = group_key(day, ((d, getattr(result, d)) for d in DIMENSIONS))
    return UsageRow(
        source=SOURCE, record_key=key, identity=_identity(result), day=day, provider="openai", tool="openai_api",
        model=normalise_model(result.model) if result.model else "unknown",
        input_tokens=uncached, output_tokens=result.output_tokens, cache_read_tokens=cached,
        cache_write_tokens=written, requests=result.num_model_requests,
    )


def _identity(result: _Result) -> IdentityRef:
    """A user's own key names the user; a service key its key id; the rest the project."""
    if result.user_id:
        return IdentityRef.of("openai_user", result.user_id)
    if result.api_key_id:
        return IdentityRef.of("api_key", result.api_key_id)
    return IdentityRef.of("openai_project", result.project_id or "default")


FEED = OpenAIUsageFeed()
