"""Row types every feed adapter yields, and the Feed protocol adapters implement.

An adapter only parses its vendor's payload into these rows and decides nothing about records that
repeat: walking files lives in bot.ingest.files; deduplication (the one rule), upserts and
attribution live once, in bot.ingest.store. A format that lists each key once says so
(`unique_keys`), and the store rejects a repeat instead of counting it once.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.config.org import OrgConfig
from bot.core.weeks import to_utc
from bot.errors import FeedError
from bot.ingest import limits
from storage.rollups import DayKeys

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
    cache_write_tokens: int = 0  # all cache writes, 5-minute and 1-hour
    cache_write_1h_tokens: int = 0  # the part of cache_write_tokens billed at the 1-hour rate
    requests: int = 0
    cost_usd: float | None = None  # the value the feed reports; None: priced from tokens when read
    billing: str | None = None
    observed_at: datetime | None = None  # for cumulative readings: only a newer reading replaces it
    work_ref: str = ""  # the ticket, branch, PR or commit the record names; "" when none


@dataclass(frozen=True)
class UsageEvent(UsageRow):
    """One event-grain usage record (a gateway request, a usage event): `record_key` is its natural key.

    The store folds it into its rollup (storage.rollups) and remembers the key in the dedup ledger, so it
    counts once across every file and pull that carries it; it is never restated.
    """


@dataclass(frozen=True)
class ActivityRow:
    source: str
    record_key: str
    identity: IdentityRef
    day: date
    metric: str
    value: float
    observed_at: datetime | None = None  # for cumulative readings: only a newer reading replaces it


@dataclass(frozen=True)
class OutcomeRow:
    key: str
    source: str
    kind: str
    identity: IdentityRef
    occurred_at: datetime
    quantity: float = 1
    title: str | None = None
    ref: str | None = None


@dataclass(frozen=True)
class WorkRow:
    """What judging the work reads about an outcome (bot.core.judgement_facts.WorkItem), under the outcome's key.

    Only for merged PRs, reverts and done tickets, beside their OutcomeRow; lists are JSON text (`as_json`).
    """

    source: str
    key: str
    identity: IdentityRef
    finished_at: datetime
    ref: str | None = None
    title: str | None = None
    labels: str = "[]"
    issue_type: str | None = None
    additions: int | None = None
    deletions: int | None = None
    files: str = "[]"
    repo: str | None = None
    points: float | None = None
    opened_at: datetime | None = None
    merged_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_at: str = "[]"
    reverts: str | None = None
    fixes: str = "[]"
    branch: str | None = None


def as_json(values: Iterable[str]) -> str:
    """A list field of a WorkRow: distinct, sorted, so a re-sent record stores the same text."""
    return json.dumps(sorted(set(values)))


@dataclass(frozen=True)
class BilledRow:
    """A line of the org's billed ledger (cost reports, FOCUS): reconciled against, never anyone's spend."""

    source: str
    record_key: str
    day: date
    provider: str
    amount_usd: float
    description: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class SeatRow:
    """A paid seat in a snapshot taken on `day`."""

    source: str
    record_key: str
    identity: IdentityRef
    day: date
    plan: str | None = None
    monthly_cost_usd: float | None = None
    last_activity_at: datetime | None = None
    pending_cancellation: date | None = None


@dataclass(frozen=True)
class IdentityLink:
    """One record carried two identities of the same person (OTel's user.email with user.account_id):
    `also` is learned to belong to whoever `known` belongs to, unless the config says otherwise."""

    source: str
    known: IdentityRef
    also: IdentityRef


@dataclass(frozen=True)
class Rejection:
    location: str
    reason: str


Counted = UsageRow | ActivityRow | OutcomeRow | BilledRow | SeatRow | WorkRow  # a row stored under a natural key
Row = Counted | IdentityLink


@dataclass(frozen=True)
class Window:
    """A (source, day) bucket a record carries completely: rows of it not in this ingest are stale, as far as
    the report covers them (bot.ingest.coverage). `who` names the group-by dimensions that say whose a row is:
    a report filtered to some accounts, keys or projects restates only theirs."""

    source: str
    day: date
    who: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Record:
    """One vendor record (a day's actor row, a pull request) and the rows it becomes; may be none."""

    location: str
    rows: tuple[Row, ...]
    window: Window | None = None


class EventSums(ABC):
    """Usage events a columnar engine read and checked at once (every one a record the feed's parser accepts):
    the store folds them into rollups by their ledger keys and sums, with no Record each (bot.ingest.store)."""

    source: str
    location: str
    events: int  # events read, all valid
    repeats: int  # of which later copies of an event met earlier in the same file

    @abstractmethod
    def keys(self) -> Iterator[DayKeys]:
        """The day ordinal and ledger key of the first copy of every event, as arrays (storage.ledger), a chunk at
        a time."""

    @abstractmethod
    def identities(self) -> set[IdentityRef]:
        """Every identity the events carry."""

    @abstractmethod
    def rollup_rows(self, ids: dict[tuple[str, str], int], excluded: set[bytes],
                    iso_days: bool) -> Iterator[Sequence[Sequence[Any]]]:
        """The first copies' figures summed per rollup, leaving out the events whose keys are in `excluded`, as rows
        ready to add (storage.rollups.add_rows: COLUMNS' order, a record_key once, the day as ISO text when
        `iso_days`), given every identity's id; a chunk at a time."""

    @abstractmethod
    def records(self) -> Iterator[Record | Rejection]:
        """The same events parsed one by one, for when the store must look at each (a forgotten person among them)."""

    @abstractmethod
    def close(self) -> None: ...


class Feed(Protocol):
    """A vendor format: recognise a file from its first characters, and stream it as records.

    `parse` raises FeedError when the whole file is unusable, before yielding anything; a bad
    record is yielded as a Rejection and parsing goes on. A feed may yield EventSums instead of the
    Records of many events it read at once, all valid. Adapters derive from BaseFeed, which
    gives every other member its default.
    """

    name: str
    priority: int  # detection asks feeds with a higher priority first (a superset signature claims first)
    unique_keys: bool  # the format lists each natural key once: a repeat in a file is rejected, not skipped

    def sniff(self, head: str) -> bool: ...

    def parse(self, path: Path) -> Iterator[Record | Rejection | EventSums]: ...

    def configured(self, config: OrgConfig) -> Feed:
        """The feed as the org's config sets it up (Jira's resolutions); most feeds have no settings."""
        ...


class BaseFeed(ABC):
    """The defaults of Feed's optional members; `name`, `sniff` and `parse` are each adapter's own."""

    name: str
    priority: int = 0
    unique_keys: bool = False

    @abstractmethod
    def sniff(self, head: str) -> bool: ...

    @abstractmethod
    def parse(self, path: Path) -> Iterator[Record | Rejection | EventSums]: ...

    def configured(self, config: OrgConfig) -> Feed:
        return self


def group_key(day: date, dimensions: Iterable[tuple[str, Any]]) -> str:
    """A daily report row's natural key: its day, then `name=value` for each group-by dimension it carries."""
    return f"{day}|" + "|".join(f"{name}={value}" for name, value in dimensions if value is not None)


def key_dimensions(key: str) -> dict[str, str]:
    """The `name=value` dimensions of a group_key; its day and tags without `=` (`web_search`) are not ones."""
    return dict(part.split("=", 1) for part in key.split("|")[1:] if "=" in part)


def describe(exc: ValidationError) -> str:
    """A pydantic error as `field.path: message (got value)`, one per problem."""
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(record)"
        got = err.get("input")
        shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
        parts.append(f"{where}: {err['msg']} (got {shown[:60]})")
    return "; ".join(parts)


def load_json(path: Path) -> Any:
    """A whole JSON document, or a FeedError that says where it broke; one over the size limit is never read."""
    limit = limits.MAX_JSON_BYTES
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise FeedError(f"{path}: line 1: a JSON document of {size:,} bytes is over the {limit:,}-byte limit")
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise FeedError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except RecursionError:
        raise FeedError(f"{path}: JSON nested too deeply to read") from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise FeedError(f"{path}: not readable JSON ({exc})") from None


def json_list(path: Path, key: str, what: str) -> list[Any]:
    """The list under `key` in a JSON document, or a FeedError saying what the file should be."""
    document = load_json(path)
    items = document.get(key) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise FeedError(f"{path}: expected {what} with a {key} list")
    return items


# What reading one record may raise on hostile input: pydantic's and our own ValueErrors, a date or number
# beyond what the platform represents (OverflowError; OSError from datetime.fromtimestamp), JSON nested too deep.
BAD_RECORD = (ValueError, ArithmeticError, OSError, RecursionError)


def read_record(where: str, read: Callable[..., Iterable[Row]], *args: Any) -> Record | Rejection:
    """The Record of the rows `read(*args)` makes of the record at `where`, or a Rejection saying why it cannot."""
    try:
        return Record(where, tuple(read(*args)))
    except BAD_RECORD as exc:
        return Rejection(where, reason(exc))


def listed_records(
    path: Path, key: str, what: str, read: Callable[[Any], Iterable[Row]],
) -> Iterator[Record | Rejection]:
    """A page's records: each item of its `key` list (`key[i]`) made into rows by `read`, or rejected."""
    for index, raw in enumerate(json_list(path, key, what)):
        yield read_record(f"{key}[{index}]", read, raw)


def reason(exc: BaseException) -> str:
    """Why a record was rejected: pydantic's field-by-field account, or the message of our own check."""
    if isinstance(exc, ValidationError):
        return describe(exc)
    if isinstance(exc, ValueError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    return f"a number or date beyond what can be represented ({exc})"


class DatedBucket(BaseModel):
    """A daily cost-report bucket (Anthropic, Claude Enterprise): a UTC start and its result rows."""

    model_config = ConfigDict(extra="ignore", strict=True)
    starting_at: datetime = Field(strict=False)
    results: list[Any]


def dated_buckets(path: Path, what: str, build: Callable[[Any, date], Row]) -> Iterator[Record | Rejection]:
    """Every bucket of a cost-report page: a bucket without a UTC `starting_at` is rejected whole; each of its
    results becomes one row of the bucket's UTC day, or a Rejection."""

    def read(where: str, raw: Any) -> Iterator[Record | Rejection]:
        try:
            bucket = DatedBucket.model_validate(raw)
            if bucket.starting_at.tzinfo is None:
                raise ValueError(f"starting_at: expected a UTC timestamp (got {bucket.starting_at.isoformat()})")
            day = to_utc(bucket.starting_at).date()
        except BAD_RECORD as exc:
            yield Rejection(where, reason(exc))
            return
        yield from bucket_records(where, bucket.results, lambda result: (build(result, day),))

    yield from report_buckets(path, what, read)


def report_buckets(
    path: Path, what: str, read_bucket: Callable[[str, Any], Iterator[Record | Rejection]],
) -> Iterator[Record | Rejection]:
    """Every bucket of a daily report page (`data[i]`), read by `read_bucket(where, raw)`."""
    for index, raw in enumerate(json_list(path, "data", what)):
        yield from read_bucket(f"data[{index}]", raw)


def bucket_records(
    where: str, results: list[Any], build: Callable[[Any], tuple[Row, ...]], window: Window | None = None,
) -> Iterator[Record | Rejection]:
    """One Record per result of a daily report bucket, or a Rejection for a bad one, in the bucket's order.

    With `window`, a bucket read without any rejection is complete: its records carry the window, so
    rows of that day the vendor no longer reports are dropped; an empty bucket still carries it.
    """
    items = [read_record(f"{where}.results[{index}]", build, result) for index, result in enumerate(results)]
    complete = window if window is not None and all(isinstance(i, Record) for i in items) else None
    if not results and complete is not None:
        items.append(Record(where, ()))
    yield from (Record(i.location, i.rows, complete) if isinstance(i, Record) else i for i in items)
