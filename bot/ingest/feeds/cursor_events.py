"""Cursor Admin API `POST /teams/filtered-usage-events`: one usage event per request, at Cursor's list price.

An event's key carries a fingerprint of its figures, so a repeated event (pages that overlap) has the
same key and is counted once by the store. A page of cursor_events_columnar.MIN_BYTES or more is read column-wise
when that pass vouches for every event, and record by record here otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from bot.core.prices import normalise_model
from bot.ingest.feeds import cursor_events_columnar
from bot.ingest.feeds.base import (
    BaseFeed,
    EventSums,
    IdentityRef,
    Record,
    Rejection,
    UsageEvent,
    listed_records,
)
from bot.ingest.limits import date_window

SOURCE = "cursor_events"
_OPENAI_MODEL = re.compile(r"^(gpt|o\d)")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class _TokenUsage(_Lenient):
    inputTokens: NonNegativeInt = 0
    outputTokens: NonNegativeInt = 0
    cacheWriteTokens: NonNegativeInt = 0
    cacheReadTokens: NonNegativeInt = 0
    totalCents: float = Field(ge=0)


class _Event(_Lenient):
    timestamp: int = Field(gt=0)  # epoch milliseconds, sent as a string
    userEmail: str = Field(min_length=1)
    model: str = ""
    kind: str | None = None
    maxMode: bool = False
    requestsCosts: float | None = None
    tokenUsage: _TokenUsage | None = None


class CursorUsageEventsFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"usageEvents"' in head or ('"userEmail"' in head and '"isTokenBasedCall"' in head)

    def parse(self, path: Path) -> Iterator[Record | Rejection | EventSums]:
        columnar = cursor_events_columnar.read(path, date_window(), lambda: self._records(path))
        if columnar is not None:
            yield columnar
            return
        yield from self._records(path)

    def _records(self, path: Path) -> Iterator[Record | Rejection]:
        return listed_records(path, "usageEvents", "a Cursor filtered-usage-events response",
                              lambda raw: (_usage(_Event.model_validate(raw)),))


def provider_of(model: str) -> str:
    if "claude" in model:
        return "anthropic"
    return "openai" if _OPENAI_MODEL.match(model) else "cursor"


def _usage(event: _Event) -> UsageEvent:
    model = normalise_model(event.model) or "unknown"
    identity = IdentityRef.of("cursor", event.userEmail)
    tokens = event.tokenUsage or _TokenUsage(totalCents=0)
    return UsageEvent(
        source=SOURCE, record_key=f"{event.timestamp}|{identity.value}|{model}|{_fingerprint(event)}",
        identity=identity, day=datetime.fromtimestamp(event.timestamp / 1000, tz=UTC).date(),
        provider=provider_of(model), tool="cursor", model=model,
        input_tokens=tokens.inputTokens, output_tokens=tokens.outputTokens,
        cache_read_tokens=tokens.cacheReadTokens, cache_write_tokens=tokens.cacheWriteTokens, requests=1,
        cost_usd=event.tokenUsage.totalCents / 100 if event.tokenUsage else None,  # list value, even when included
    )


def _fingerprint(event: _Event) -> str:
    """The event's own figures, so two requests in the same millisecond stay apart and a re-fetch matches."""
    figures = event.model_dump(mode="json")
    return hashlib.sha256(json.dumps(figures, sort_keys=True).encode()).hexdigest()[:16]


FEED = CursorUsageEventsFeed()
