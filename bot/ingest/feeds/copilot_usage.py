"""GitHub Copilot usage metrics report (2025-10+): NDJSON, one user-day per line, streamed.

IDE use carries only activity counts; `totals_by_cli.token_usage` is the one token signal, and it
has no price, so its rows are priced from tokens when read (cost None). A user-day repeated in a
report (a part fetched twice) is counted once by the store.

Since usage-based billing (2026-06-01) a user-day may carry `ai_credits_used`: the credits that day's
use consumed, 1 credit = $0.01. It becomes usage under the `copilot` tool (model `ai-credits`, its own
key beside the CLI tokens' row) at its dollar value. GitHub calls it "for consumption analysis, not
invoicing totals" and splits it by no model; the billed credits are the credit-billing ledger
(bot.ingest.feeds.copilot_credit_billing). A seat's monthly fee is a seat snapshot, not usage: seat and
credits are different money and each counts once. Uncertain (tests/fixtures/copilot_usage.notes.md):
whether the field is absent or 0 on days without credit use; both store nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt

from bot.ingest.feeds._jsonl import lines
from bot.ingest.feeds.base import (
    ActivityRow,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    Row,
    UsageRow,
    read_record,
)

SOURCE = "copilot_usage"
CREDIT_USD = 0.01  # GitHub: 1 AI credit = $0.01
CREDITS_MODEL = "ai-credits"
COUNTERS = {
    "user_initiated_interaction_count": "interactions",
    "code_generation_activity_count": "suggestions",
    "code_acceptance_activity_count": "acceptances",
    "loc_suggested_to_add_sum": "lines_suggested",
    "loc_added_sum": "lines_added",
}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _CliTokens(_Lenient):
    prompt_tokens_sum: NonNegativeInt = 0
    output_tokens_sum: NonNegativeInt = 0


class _Cli(_Lenient):
    request_count: NonNegativeInt = 0
    token_usage: _CliTokens | None = None


class _UserDay(_Lenient):
    day: date
    user_login: str = Field(min_length=1)
    user_initiated_interaction_count: NonNegativeInt = 0
    code_generation_activity_count: NonNegativeInt = 0
    code_acceptance_activity_count: NonNegativeInt = 0
    loc_suggested_to_add_sum: NonNegativeInt = 0
    loc_added_sum: NonNegativeInt = 0
    totals_by_cli: _Cli | None = None
    ai_credits_used: NonNegativeFloat | None = Field(default=None, allow_inf_nan=False)


class CopilotUsageReportFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"user_login"' in head and '"code_generation_activity_count"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        for item in lines(path):
            yield item if isinstance(item, Rejection) else _record(*item)


def _record(where: str, raw: Any) -> Record | Rejection:
    return read_record(where, lambda raw: _rows(_UserDay.model_validate(raw)), raw)


def _rows(user_day: _UserDay) -> Iterator[Row]:
    identity = IdentityRef.of("github", user_day.user_login)
    key = f"{user_day.day}|{identity.value}"
    for field, metric in COUNTERS.items():
        yield ActivityRow(SOURCE, key, identity, user_day.day, metric, getattr(user_day, field))
    cli = user_day.totals_by_cli
    tokens = cli.token_usage if cli else None
    if cli and tokens and (tokens.prompt_tokens_sum or tokens.output_tokens_sum):
        yield UsageRow(
            source=SOURCE, record_key=key, identity=identity, day=user_day.day, provider="github", tool="copilot",
            model="copilot-cli", input_tokens=tokens.prompt_tokens_sum, output_tokens=tokens.output_tokens_sum,
            requests=cli.request_count, cost_usd=None,
        )
    if user_day.ai_credits_used:
        yield UsageRow(
            source=SOURCE, record_key=f"{key}|{CREDITS_MODEL}", identity=identity, day=user_day.day, provider="github",
            tool="copilot", model=CREDITS_MODEL, cost_usd=round(user_day.ai_credits_used * CREDIT_USD, 6),
            billing="ai_credits",
        )


FEED = CopilotUsageReportFeed()
