"""Row types every feed adapter yields, and the Protocol adapters implement.

An adapter only parses its vendor's payload into these rows; walking files, deduplication,
upserts and attribution live once, in bot.ingest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from pydantic import ValidationError

# Identity kinds whose values are case-insensitive (emails, logins); the rest are opaque ids.
CASE_INSENSITIVE = frozenset({"email", "github", "cursor", "litellm"})


@dataclass(frozen=True)
class IdentityRef:
    kind: str
    value: str

    @classmethod
    def of(cls, kind: str, value: str) -> IdentityRef:
        value = value.strip()
        return cls(kind, value.lower() if kind in CASE_INSENSITIVE else value)


@dataclass(frozen=True)
class UsageRow:
    source: str
    record_key: str
    identity: IdentityRef
    day: date
    provider: str
    tool: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None
    billing: str | None = None


@dataclass(frozen=True)
class ActivityRow:
    source: str
    record_key: str
    identity: IdentityRef
    day: date
    metric: str
    value: float


@dataclass(frozen=True)
class OutcomeRow:
    key: str
    source: str
    kind: str
    identity: IdentityRef
    occurred_at: datetime
    quantity: float = 1
    title: str | None = None


@dataclass(frozen=True)
class Rejection:
    location: str
    reason: str


Row = UsageRow | ActivityRow | OutcomeRow


@dataclass(frozen=True)
class Record:
    """One vendor record (a day's actor row, a pull request) and the rows it becomes; may be none."""

    location: str
    rows: tuple[Row, ...]


class Feed(Protocol):
    """A vendor format: recognise a parsed document, and turn each record into rows or a rejection."""

    name: str

    def sniff(self, document: Any) -> bool: ...

    def parse(self, document: Any) -> Iterator[Record | Rejection]: ...


def describe(exc: ValidationError) -> str:
    """A pydantic error as `field.path: message (got value)`, one per problem."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(record)"
        got = err.get("input")
        shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
        parts.append(f"{where}: {err['msg']} (got {shown[:60]})")
    return "; ".join(parts)
