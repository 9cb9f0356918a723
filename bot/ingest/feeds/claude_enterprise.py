"""Claude Enterprise Analytics `user_usage_report` page: per-user tokens of Enterprise seats, every product.

Base `/v1/organizations/analytics/`, a separate key with the `read:analytics` scope. Each row is one
user's usage in one UTC day (asked with `bucket_width=1d`), one model and one product (asked with
`group_by[]=model` and `group_by[]=product`): it becomes seat usage (`billing` "subscription") under a
tool named for the product (`chat` → `claude_chat`, `claude_code` → `claude_code`, other products
`claude_<product>`), attributed to the user's email, with the tagged user id linked to it. The report
carries no cost, so the tokens are priced at list price when read; its org cost report is the billed
ledger (bot.ingest.feeds.claude_enterprise_cost). Counted once against Claude Code Analytics and
telemetry in bot.core.attribution.

Strict about what it relies on: a row must carry `starting_at` and `ending_at` one UTC day apart (a
report not bucketed by day is refused row by row), and a model when it has tokens (a report not grouped
by model could not be priced). A row without model and without tokens (code execution) stores nothing.
Uncertain (tests/fixtures/claude_enterprise.notes.md): that the tagged user id equals the Admin API
`account_id` of the same person (it is linked as `anthropic_account`); product names beyond those listed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from bot.core.prices import normalise_model
from bot.core.weeks import to_utc
from bot.ingest.feeds.base import (
    BaseFeed,
    IdentityLink,
    IdentityRef,
    Record,
    Rejection,
    Row,
    UsageRow,
    group_key,
    listed_records,
)

SOURCE = "claude_enterprise"
TOOLS = {"chat": "claude_chat", "claude_code": "claude_code"}
Count = Annotated[int, Field(ge=0)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Actor(_Lenient):
    type: str
    user_id: str = Field(min_length=1)
    email_address: str | None = None


class _CacheCreation(_Lenient):
    ephemeral_1h_input_tokens: Count = 0
    ephemeral_5m_input_tokens: Count = 0


class _Row(_Lenient):
    actor: _Actor
    starting_at: datetime | None = Field(strict=False)
    ending_at: datetime | None = Field(strict=False)
    model: str | None = None
    product: str | None = None
    uncached_input_tokens: Count
    output_tokens: Count = 0
    cache_read_input_tokens: Count = 0
    cache_creation: _CacheCreation = _CacheCreation()
    requests: Count | None = None


class ClaudeEnterpriseFeed(BaseFeed):
    name = SOURCE
    priority = 1  # before anthropic_usage, whose signature (uncached_input_tokens) this report also carries

    def sniff(self, head: str) -> bool:
        return '"user_actor"' in head and '"uncached_input_tokens"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        return listed_records(path, "data", "a Claude Enterprise user_usage_report page",
                              lambda raw: _rows(_Row.model_validate(raw)))


def _day(row: _Row) -> date:
    if row.starting_at is None or row.ending_at is None:
        raise ValueError("starting_at: expected a daily bucket (the report must be asked with bucket_width=1d)")
    if row.starting_at.tzinfo is None or row.ending_at.tzinfo is None:
        raise ValueError(f"starting_at: expected a UTC timestamp (got {row.starting_at.isoformat()})")
    start, end = to_utc(row.starting_at), to_utc(row.ending_at)
    if end - start != timedelta(days=1) or (start.hour, start.minute, start.second) != (0, 0, 0):
        raise ValueError(f"starting_at: expected one UTC day (got {start.isoformat()} to {end.isoformat()})")
    return start.date()


def _rows(row: _Row) -> tuple[Row, ...]:
    if row.actor.type != "user_actor":
        raise ValueError(f"actor.type: expected user_actor (got {row.actor.type!r})")
    day = _day(row)
    cache = row.cache_creation
    tokens = (row.uncached_input_tokens, row.output_tokens, row.cache_read_input_tokens,
              cache.ephemeral_5m_input_tokens + cache.ephemeral_1h_input_tokens)
    if not (row.model or "").strip():
        if any(tokens):
            raise ValueError("model: needed to price the tokens (the report must be grouped by model)")
        return ()
    account = IdentityRef.of("anthropic_account", row.actor.user_id)
    email = (row.actor.email_address or "").strip()
    identity = IdentityRef.of("email", email) if email else account
    links = (IdentityLink(SOURCE, identity, account),) if identity != account else ()
    product = (row.product or "").strip()
    key = group_key(day, (("user_id", row.actor.user_id), ("model", row.model), ("product", product or None)))
    usage = UsageRow(
        source=SOURCE, record_key=key, identity=identity, day=day, provider="anthropic", tool=_tool(product),
        model=normalise_model(row.model or ""), input_tokens=tokens[0], output_tokens=tokens[1],
        cache_read_tokens=tokens[2], cache_write_tokens=tokens[3],
        cache_write_1h_tokens=cache.ephemeral_1h_input_tokens,
        requests=row.requests or 0, cost_usd=None, billing="subscription",
    )
    return (*links, usage)


def _tool(product: str) -> str:
    if not product:
        return "claude_enterprise"
    return TOOLS.get(product, "claude_" + product.replace("-", "_"))


FEED = ClaudeEnterpriseFeed()
