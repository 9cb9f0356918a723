"""OpenAI Codex Analytics (ChatGPT Enterprise workspaces): `/analytics/codex/workspaces/{id}/usage` page.

One row is one user's Codex use in one UTC day (`start_time`/`end_time`, Unix seconds, one day apart).
It becomes activity of the user's email (`codex_threads`, `codex_turns`, `codex_credits`, and
`codex_lines_added` when the row attributes code) and, when its clients report tokens, seat usage under
the `codex` tool: uncached input, cached input (as cache reads) and output, summed over clients. The
tokens are priced from the model when the row names exactly one model, and otherwise carry the model
`codex`, which has no list price (shown as unpriced, never guessed). Credits stay a count: the report
gives no price per credit, and the workspace's credit bill is not in this report.

Strict about what it relies on: a day-long row, an email (top-level `email` or `actor.email`), and
`totals` with `threads`, `turns`, `credits`. Uncertain, see tests/fixtures/codex_usage.notes.md: the
official schema could not be read; the shape is the one third-party clients generated from OpenAI's
OpenAPI (`codex-backend-enterprise-analytics`), including the paging parameter.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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

SOURCE = "codex_usage"
DAY_SECONDS = 86_400
UNKNOWN_MODEL = "codex"
Count = Annotated[int, Field(ge=0)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Actor(_Lenient):
    email: str | None = None


class _Totals(_Lenient):
    threads: Count
    turns: Count
    credits: Amount


class _Client(_Lenient):
    uncached_text_input_tokens: Count | None = None
    cached_text_input_tokens: Count | None = None
    text_output_tokens: Count | None = None


class _Model(_Lenient):
    model: str = Field(min_length=1)


class _Code(_Lenient):
    lines_added: Count | None = None


class _Row(_Lenient):
    start_time: int
    end_time: int
    email: str | None = None
    actor: _Actor | None = None
    totals: _Totals
    clients: list[_Client] = []
    models: list[_Model] | None = None
    code_attribution: _Code | None = None


class CodexUsageFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"totals"' in head and '"clients"' in head and '"turns"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        return listed_records(path, "data", "a Codex analytics usage page", lambda raw: _rows(_Row.model_validate(raw)))


def _rows(row: _Row) -> Iterator[Row]:
    if row.end_time - row.start_time != DAY_SECONDS or row.start_time % DAY_SECONDS:
        raise ValueError(f"start_time: expected one UTC day (got {row.start_time} to {row.end_time})")
    email = (row.email or (row.actor.email if row.actor else None) or "").strip()
    if not email:
        raise ValueError("email: the row names no user email to attribute it to")
    identity, day = IdentityRef.of("email", email), datetime.fromtimestamp(row.start_time, UTC).date()
    key = f"{day}|{identity.value}"
    metrics = {"codex_threads": row.totals.threads, "codex_turns": row.totals.turns,
               "codex_credits": row.totals.credits}
    if row.code_attribution is not None and row.code_attribution.lines_added is not None:
        metrics["codex_lines_added"] = row.code_attribution.lines_added
    for metric, value in metrics.items():
        yield ActivityRow(SOURCE, key, identity, day, metric, float(value))
    tokens = [sum(getattr(c, f) or 0 for c in row.clients)
              for f in ("uncached_text_input_tokens", "cached_text_input_tokens", "text_output_tokens")]
    if any(tokens):
        models = {normalise_model(m.model) for m in row.models or []}
        yield UsageRow(
            source=SOURCE, record_key=key, identity=identity, day=day, provider="openai", tool="codex",
            model=models.pop() if len(models) == 1 else UNKNOWN_MODEL, input_tokens=tokens[0],
            cache_read_tokens=tokens[1], output_tokens=tokens[2], requests=row.totals.turns, cost_usd=None,
            billing="chatgpt_credits",
        )


FEED = CodexUsageFeed()
