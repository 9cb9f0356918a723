"""LiteLLM proxy spend logs: a /spend/logs/v2 page, or JSON-lines with one spend-log row per line.

Every request is a usage event priced at the proxy's own `spend`, failures included (they cost too), which
the store folds into its rollup once, by request_id (in a file and across files). JSON-lines files are
streamed, so an export of any size stays flat in memory; one of litellm_columnar.MIN_BYTES or more is read
column-wise when that pass vouches for every record, and record by record here otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError

from bot.core.prices import normalise_model
from bot.core.weeks import to_utc
from bot.errors import FeedError
from bot.ingest.feeds import litellm_columnar
from bot.ingest.feeds._jsonl import decode, is_json_lines, lines, raw_lines
from bot.ingest.feeds.base import (
    BAD_RECORD,
    BaseFeed,
    EventSums,
    IdentityRef,
    Record,
    Rejection,
    UsageEvent,
    describe,
    load_json,
    reason,
)
from bot.ingest.limits import date_window

SOURCE = "litellm"
WORK_KINDS = ("ticket", "branch", "pr", "commit")
TICKET = re.compile(r"[A-Z][A-Z0-9]{1,9}-[0-9]{1,9}")


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _PromptDetails(_Lenient):
    cached_tokens: NonNegativeInt | None = None


class _Usage(_Lenient):
    prompt_tokens_details: _PromptDetails | None = None
    cache_creation_input_tokens: NonNegativeInt | None = None


class _Metadata(_Lenient):
    user_api_key_user_id: str | None = None
    user_api_key_alias: str | None = None
    spend_logs_metadata: dict[str, Any] | None = None
    additional_usage_values: _Usage | None = None
    usage_object: _Usage | None = None


class _SpendLog(_Lenient):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    request_id: str = Field(min_length=1)
    spend: float = Field(ge=0)
    prompt_tokens: NonNegativeInt = 0
    completion_tokens: NonNegativeInt = 0
    startTime: datetime
    model: str = ""
    model_group: str | None = None
    custom_llm_provider: str | None = None
    user: str | None = None
    metadata: _Metadata = _Metadata()
    request_tags: list[Any] | None = None


class LiteLLMSpendLogsFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        has_provider = '"call_type"' in head or '"custom_llm_provider"' in head
        return '"request_id"' in head and '"spend"' in head and has_provider

    def parse(self, path: Path) -> Iterator[Record | Rejection | EventSums]:
        for item in self._located(path):
            yield item if isinstance(item, Rejection | EventSums) else _record(*item)

    def _records(self, located: Iterator[tuple[str, Any] | Rejection]) -> Iterator[Record | Rejection]:
        for item in located:
            yield item if isinstance(item, Rejection) else _record(*item)

    def _located(self, path: Path) -> Iterator[tuple[str, Any] | Rejection | EventSums]:
        """(location, row): a row is a parsed value, or the bytes of a JSON line (validated directly); or the whole
        of a large JSON-lines file read at once, when the columnar pass vouches for every record of it."""
        if is_json_lines(path) and not _is_page_on_one_line(path):
            columnar = litellm_columnar.read(path, date_window(), lambda: self._records(raw_lines(path)))
            if columnar is not None:
                yield columnar
                return
            yield from raw_lines(path)
            return
        document = load_json(path)
        rows = document.get("data") if isinstance(document, dict) else document
        if not isinstance(rows, list):
            raise FeedError(
                f"{path}: expected a LiteLLM spend-logs page ({{data: [...]}}), a list of rows, or JSON-lines")
        prefix = "data" if isinstance(document, dict) else ""
        yield from ((f"{prefix}[{index}]", raw) for index, raw in enumerate(rows))


def _is_page_on_one_line(path: Path) -> bool:
    """A page saved without newlines is one JSON line too; its first line has a `data` list, not a row."""
    for item in lines(path):
        return not isinstance(item, Rejection) and isinstance(item[1], dict) and isinstance(item[1].get("data"), list)
    return False


def _record(where: str, raw: Any) -> Record | Rejection:
    try:
        log = _SpendLog.model_validate_json(raw) if isinstance(raw, bytes) else _SpendLog.model_validate(raw)
        return Record(where, (_usage(log),))
    except ValidationError as exc:
        if isinstance(raw, bytes):  # the fast path failed: decode it first, so reasons read as for any JSON
            item = decode(where, raw)
            return item if isinstance(item, Rejection) else _record(*item)
        return Rejection(where, describe(exc))
    except BAD_RECORD as exc:
        return Rejection(where, reason(exc))


def _usage(log: _SpendLog) -> UsageEvent:
    model = (log.model_group or log.model).strip()
    if not model:
        raise ValueError("model: a request needs a model or model_group")
    cached, written = _cache_tokens(log.metadata)
    if cached + written > log.prompt_tokens:
        raise ValueError(f"prompt_tokens: {log.prompt_tokens} is less than its {cached + written} cached tokens")
    return UsageEvent(
        source=SOURCE, record_key=log.request_id, identity=_identity(log), day=to_utc(log.startTime).date(),
        provider=(log.custom_llm_provider or "").strip() or "unknown", tool="litellm", model=_model(model),
        input_tokens=log.prompt_tokens - cached - written, output_tokens=log.completion_tokens,
        cache_read_tokens=cached, cache_write_tokens=written, requests=1, cost_usd=log.spend, billing="gateway",
        work_ref=work_ref(log.request_tags, log.metadata.spend_logs_metadata),
    )


def work_ref(tags: list[Any] | None, metadata: dict[str, Any] | None) -> str:
    """The work a request names: `kind:value` from spend_logs_metadata's ticket, branch, pr or commit, else from
    the first request tag spelled `ticket:`/`branch:`/`pr:`/`commit:`, else a tag that is a ticket key (ABC-123)."""
    for kind in WORK_KINDS:
        value = (metadata or {}).get(kind)
        if isinstance(value, str | int) and str(value).strip():
            return f"{kind}:{str(value).strip()[:200]}"
    for tag in tags or ():
        kind, _, value = str(tag).partition(":")
        if kind.strip().lower() in WORK_KINDS and value.strip():
            return f"{kind.strip().lower()}:{value.strip()[:200]}"
    for tag in tags or ():
        if isinstance(tag, str) and TICKET.fullmatch(tag.strip()):
            return f"ticket:{tag.strip()}"
    return ""


def _cache_tokens(metadata: _Metadata) -> tuple[int, int]:
    """(cache reads, cache writes) inside prompt_tokens; reasoning tokens are already in completion_tokens."""
    for usage in (metadata.additional_usage_values, metadata.usage_object):
        if usage is not None:
            details = usage.prompt_tokens_details
            cached = details.cached_tokens if details and details.cached_tokens else 0
            if cached or usage.cache_creation_input_tokens:
                return cached, usage.cache_creation_input_tokens or 0
    return 0, 0


def _identity(log: _SpendLog) -> IdentityRef:
    for value in (log.user, log.metadata.user_api_key_user_id, log.metadata.user_api_key_alias):
        if value and value.strip():
            return _person(value)
    raise ValueError("user: no user, metadata.user_api_key_user_id or metadata.user_api_key_alias to attribute it to")


# A spend log repeats a few thousand users and models millions of times: build each once.
_person = lru_cache(maxsize=65_536)(lambda value: IdentityRef.of("litellm", value))
_model = lru_cache(maxsize=4_096)(normalise_model)

FEED = LiteLLMSpendLogsFeed()
