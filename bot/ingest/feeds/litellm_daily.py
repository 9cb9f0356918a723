"""LiteLLM proxy `GET /user/daily/activity`: the gateway's own daily aggregates, one usage row per (day, key, model).

Invariant: every row is a daily bucket (source `litellm_daily`), keyed by day, API key and model, priced at the
proxy's own spend; a complete response (one page, as the puller writes it) restates each day it lists, so a
re-pull replaces its days and never adds to them. A (day, key, model) met twice in a file is summed: the proxy
pages its daily rows, so one pair can straddle two pages. Whose a row is follows the spend-log feed: the key's
user_id, else its alias (identity kind `litellm`), else the hashed key itself (kind `api_key`). On a day the
spend logs cover, bot.core.attribution counts them instead (README: Counted once).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from bot.core.prices import normalise_model
from bot.errors import FeedError
from bot.ingest.feeds.base import (
    BAD_RECORD,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    UsageRow,
    Window,
    group_key,
    load_json,
    reason,
)

SOURCE = "litellm_daily"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class _Metrics(_Lenient):
    spend: float = Field(default=0.0, ge=0)
    prompt_tokens: NonNegativeInt = 0
    completion_tokens: NonNegativeInt = 0
    cache_read_input_tokens: NonNegativeInt = 0
    cache_creation_input_tokens: NonNegativeInt = 0
    api_requests: NonNegativeInt = 0


class _KeyMetadata(_Lenient):
    key_alias: str | None = None
    user_id: str | None = None


class _KeyMetric(_Lenient):
    metrics: _Metrics
    metadata: _KeyMetadata = _KeyMetadata()


class _Day(_Lenient):
    date: date
    breakdown: dict[str, Any] = {}


@dataclass
class _Sum:
    """One (day, key, model): its first location, whose it is, and its figures summed over the file."""

    location: str
    identity: IdentityRef
    provider: str
    metrics: list[float] = field(default_factory=lambda: [0.0, 0, 0, 0, 0, 0])

    def add(self, m: _Metrics) -> None:
        for i, value in enumerate((m.spend, m.prompt_tokens, m.completion_tokens, m.cache_read_input_tokens,
                                   m.cache_creation_input_tokens, m.api_requests)):
            self.metrics[i] += value


class LiteLLMDailyActivityFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"results"' in head and '"breakdown"' in head and '"api_requests"' in head and '"tags"' not in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        document = load_json(path)
        results = document.get("results") if isinstance(document, dict) else None
        if not isinstance(results, list):
            raise FeedError(f"{path}: expected a LiteLLM /user/daily/activity response with a results list")
        sums: dict[tuple[date, str, str], _Sum] = {}
        days: dict[date, bool] = {}  # day -> read without a rejection
        for index, raw in enumerate(results):
            yield from _day(f"results[{index}]", raw, sums, days)
        complete = _complete(document)
        for day, clean in days.items():
            if complete and clean and not any(d == day for d, _, _ in sums):  # an empty day restates to nothing
                yield Record(f"results[date={day}]", (), Window(SOURCE, day))
        for (day, key, model), total in sums.items():
            window = Window(SOURCE, day) if complete and days[day] else None
            yield Record(total.location, (_row(day, key, model, total),), window)


def _complete(document: dict[str, Any]) -> bool:
    """A response of one page holds its days whole; a page of several may hold part of a day (not a restatement)."""
    metadata = document.get("metadata")
    pages = metadata.get("total_pages", 1) if isinstance(metadata, dict) else 1
    return pages in (None, 0, 1)


def _day(where: str, raw: Any, sums: dict[tuple[date, str, str], _Sum], days: dict[date, bool]) -> Iterator[Rejection]:
    try:
        day = _Day.model_validate(raw)
    except BAD_RECORD as exc:
        yield Rejection(where, reason(exc))
        return
    days.setdefault(day.date, True)
    dimension = "model_groups" if day.breakdown.get("model_groups") else "models"
    models = day.breakdown.get(dimension) or {}
    if not isinstance(models, dict):
        days[day.date] = False
        yield Rejection(f"{where}.breakdown.{dimension}", "expected an object of models")
        return
    provider = _provider(day.breakdown)
    for model, entry in models.items():
        keys = entry.get("api_key_breakdown") if isinstance(entry, dict) else None
        for key, metric in (keys or {}).items() if isinstance(keys, dict) else ():
            spot = f"{where}.breakdown.{dimension}[{model}].api_key_breakdown[{key}]"
            try:
                _add(sums, day.date, str(key), str(model), spot, _KeyMetric.model_validate(metric), provider)
            except BAD_RECORD as exc:
                days[day.date] = False
                yield Rejection(spot, reason(exc))


def _add(sums: dict[tuple[date, str, str], _Sum], day: date, key: str, model: str, spot: str, metric: _KeyMetric,
         provider: str) -> None:
    m = metric.metrics
    if not key.strip():
        raise ValueError("api_key: empty")
    if not model.strip():
        raise ValueError("model: empty")
    if m.cache_read_input_tokens + m.cache_creation_input_tokens > m.prompt_tokens:
        raise ValueError(f"prompt_tokens: {m.prompt_tokens} is less than its "
                         f"{m.cache_read_input_tokens + m.cache_creation_input_tokens} cached tokens")
    entry = sums.setdefault((day, key, model), _Sum(spot, _identity(key, metric.metadata), provider))
    entry.add(m)


def _provider(breakdown: dict[str, Any]) -> str:
    """The key-by-model breakdown names no provider; a day that went to one provider only names it."""
    providers = breakdown.get("providers")
    if isinstance(providers, dict) and len(providers) == 1:
        return str(next(iter(providers))).strip() or "unknown"
    return "unknown"


def _identity(key: str, metadata: _KeyMetadata) -> IdentityRef:
    for value in (metadata.user_id, metadata.key_alias):
        if value and value.strip():
            return IdentityRef.of("litellm", value)
    return IdentityRef.of("api_key", key)


def _row(day: date, key: str, model: str, total: _Sum) -> UsageRow:
    spend, prompt, completion, cached, written, requests = total.metrics
    return UsageRow(
        source=SOURCE, record_key=group_key(day, (("api_key", key), ("model", model))), identity=total.identity,
        day=day, provider=total.provider, tool="litellm", model=normalise_model(model.strip()),
        input_tokens=int(prompt - cached - written), output_tokens=int(completion), cache_read_tokens=int(cached),
        cache_write_tokens=int(written), requests=int(requests), cost_usd=spend, billing="gateway",
    )


FEED = LiteLLMDailyActivityFeed()
