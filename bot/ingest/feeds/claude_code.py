"""Claude Code Analytics API: one record per actor per day, tokens and estimated cost per model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt

from bot.core.prices import normalise_model
from bot.ingest.feeds.base import (
    ActivityRow,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    Row,
    UsageRow,
    listed_records,
)

SOURCE = "claude_code"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class _Actor(_Lenient):
    type: Literal["user_actor", "api_actor"]
    email_address: str | None = None
    api_key_name: str | None = None


class _Lines(_Lenient):
    added: NonNegativeInt = 0
    removed: NonNegativeInt = 0


class _Core(_Lenient):
    commits_by_claude_code: NonNegativeInt = 0
    lines_of_code: _Lines = _Lines()
    num_sessions: NonNegativeInt = 0
    pull_requests_by_claude_code: NonNegativeInt = 0


class _Cost(_Lenient):
    amount: NonNegativeFloat = Field(strict=False)
    currency: str = "USD"


class _Tokens(_Lenient):
    cache_creation: NonNegativeInt = 0
    cache_read: NonNegativeInt = 0
    input: NonNegativeInt = 0
    output: NonNegativeInt = 0


class _ModelUse(_Lenient):
    model: str = Field(min_length=1)
    tokens: _Tokens
    estimated_cost: _Cost | None = None


class _Decision(_Lenient):
    accepted: NonNegativeInt = 0
    rejected: NonNegativeInt = 0


class _Record(_Lenient):
    actor: _Actor
    date: datetime = Field(strict=False)
    customer_type: str | None = None
    is_remote: bool = False
    core_metrics: _Core = _Core()
    model_breakdown: list[_ModelUse] = []
    tool_actions: dict[str, _Decision] = {}


class ClaudeCodeAnalyticsFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"model_breakdown"' in head and '"actor"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        return listed_records(path, "data", "a Claude Code Analytics page", _read)


def _read(raw: Any) -> tuple[Row, ...]:
    record = _Record.model_validate(raw)
    identity = _identity(record.actor)
    if record.date.tzinfo is None or record.date.utcoffset():
        got = record.date.isoformat()
        raise ValueError(f"date: expected a UTC timestamp like 2026-11-17T00:00:00Z (got {got})")
    return _rows(record, identity)


def _identity(actor: _Actor) -> IdentityRef:
    if actor.type == "user_actor":
        if not actor.email_address:
            raise ValueError("actor.email_address: a user_actor needs an email address")
        return IdentityRef.of("email", actor.email_address)
    if not actor.api_key_name:
        raise ValueError("actor.api_key_name: an api_actor needs a key name")
    return IdentityRef.of("anthropic_key_name", actor.api_key_name)


def _rows(record: _Record, identity: IdentityRef) -> tuple[Row, ...]:
    """The record's usage row per model, then one activity row per counter (in METRICS order)."""
    day = record.date.date()
    base_key = f"{day}|{identity.kind}:{identity.value}|{'remote' if record.is_remote else 'local'}"
    usage = [_usage(use, base_key, identity, day, record.customer_type) for use in record.model_breakdown]
    core = record.core_metrics
    decisions = record.tool_actions.values()
    counts = (core.num_sessions, core.lines_of_code.added, core.lines_of_code.removed, core.commits_by_claude_code,
              core.pull_requests_by_claude_code, sum(d.accepted for d in decisions), sum(d.rejected for d in decisions))
    return (*usage, *[ActivityRow(SOURCE, base_key, identity, day, metric, value)
                      for metric, value in zip(METRICS, counts, strict=True)])


def _usage(use: _ModelUse, base_key: str, identity: IdentityRef, day: date, billing: str | None) -> UsageRow:
    model = _model(use.model)
    cost = use.estimated_cost.amount / 100 if use.estimated_cost else None  # the API reports cents
    tokens = use.tokens
    return UsageRow(
        source=SOURCE, record_key=f"{base_key}|{model}", identity=identity, day=day,
        provider="anthropic", tool="claude_code", model=model,
        input_tokens=tokens.input, output_tokens=tokens.output,
        cache_read_tokens=tokens.cache_read, cache_write_tokens=tokens.cache_creation,
        cost_usd=cost, billing=billing,
    )


METRICS = ("sessions", "lines_added", "lines_removed", "commits", "pull_requests", "edits_accepted", "edits_rejected")
_model = lru_cache(maxsize=1_024)(normalise_model)  # a page names a handful of models, each thousands of times


FEED = ClaudeCodeAnalyticsFeed()
