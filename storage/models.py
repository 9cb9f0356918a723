"""Tables. Natural-key unique constraints make every ingest idempotent."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import BigInteger, Index, LargeBinary, Table, UniqueConstraint
from sqlmodel import Field, SQLModel


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    slack_channel: str | None = None
    teams_channel: str | None = None
    timezone: str = "UTC"


class Person(SQLModel, table=True):
    """A person; ids are never reused (AUTOINCREMENT on SQLite), because snapshots and the access log
    keep the ids of the people whose figures they cover, and a forgotten person's id must not pass to
    someone new."""

    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True)
    name: str | None = None
    team: str | None = Field(default=None, index=True)
    kudos_opt_in: bool = False
    slack_user_id: str | None = None


class Identity(SQLModel, table=True):
    """A feed identity (kind, value); person_id is null while nobody claims it (unattributed)."""

    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identity_kind_value"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str
    value: str
    person_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    linked_via: str | None = None  # null: claimed in the config; else the feed record that linked it


class Usage(SQLModel, table=True):
    """Normalised AI usage as rollups: sums per (source, identity, UTC day, provider, tool, model, billing, work_ref).

    A daily-bucket feed's row is one already (its record_key the vendor's group); event-grain feeds (gateway
    requests, usage events) are folded in by bot.ingest.store under a rollup record_key, each event counted
    once through the EventLedger.
    """

    __table_args__ = (
        UniqueConstraint("source", "record_key", name="uq_usage_source_key"),
        Index("ix_usage_identity_day", "identity_id", "day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str
    record_key: str
    identity_id: int = Field(foreign_key="identity.id")
    day: date = Field(index=True)
    provider: str
    tool: str
    model: str
    input_tokens: int = Field(default=0, sa_type=BigInteger)
    output_tokens: int = Field(default=0, sa_type=BigInteger)
    cache_read_tokens: int = Field(default=0, sa_type=BigInteger)
    cache_write_tokens: int = Field(default=0, sa_type=BigInteger)
    # the part of cache_write billed at the 1-hour rate
    cache_write_1h_tokens: int = Field(default=0, sa_type=BigInteger)
    requests: int = Field(default=0, sa_type=BigInteger)
    cost_usd: float | None = None  # the value the feed reports; null means tokens x price
    billing: str | None = None  # how the vendor bills it, e.g. Claude Code "api" or "subscription"
    observed_at: datetime | None = None  # a cumulative reading's time: an older reading never replaces a newer one
    work_ref: str = Field(default="", sa_column_kwargs={"server_default": ""})  # ticket, branch, PR or commit named


class EventLedger(SQLModel, table=True):
    """The dedup ledger (storage.ledger): the 16-byte hashes of folded events' (source, natural key), packed.

    One row is one part of a (UTC day, bucket): its keys sorted and concatenated. Kept `ingest.dedup_days`
    (bot.governance.retention purges older days): an event whose hash is here is never folded into a rollup again.
    """

    __table_args__ = {"sqlite_with_rowid": False}
    day: int = Field(primary_key=True)  # date.toordinal() of the events' UTC day: the daily purge is a range
    bucket: int = Field(primary_key=True)  # the keys' first byte
    part: int = Field(primary_key=True)
    packed: bytes = Field(sa_type=LargeBinary)  # the part's keys, sorted, 16 bytes each


class IngestedFile(SQLModel, table=True):
    """A file of usage events ingested whole without a rejection, by content hash: the same bytes are not parsed again.

    Only files whose every record is event-grain are remembered: re-reading them could add nothing (the ledger
    holds each event), while a daily report read again may restate, and a configured feed may read differently.
    """

    digest: bytes = Field(primary_key=True, sa_type=LargeBinary(32))
    records: int = 0
    counted: int = 0  # records stored or already stored when it was ingested
    skipped: int = 0
    ingested_at: datetime = Field(index=True)


class Activity(SQLModel, table=True):
    """Activity counters a feed reports beside tokens (sessions, lines, accepted edits...)."""

    __table_args__ = (
        UniqueConstraint("source", "record_key", "metric", name="uq_activity_source_key_metric"),
        Index("ix_activity_identity_day", "identity_id", "day"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str
    record_key: str
    identity_id: int = Field(foreign_key="identity.id")
    day: date
    metric: str
    value: float
    observed_at: datetime | None = None  # a cumulative reading's time: an older reading never replaces a newer one


class Outcome(SQLModel, table=True):
    """Something shipped (or undone): a merged PR, a revert charge, a closed ticket."""

    __table_args__ = (Index("ix_outcome_identity_week", "identity_id", "week"), Index("ix_outcome_ref", "ref"))
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    source: str
    kind: str
    identity_id: int = Field(foreign_key="identity.id")
    occurred_at: datetime
    week: str
    quantity: float = 1
    title: str | None = None
    ref: str | None = None  # for a revert: the key of the merge it reverts


class WorkDetail(SQLModel, table=True):
    """What judging the work reads about a merged PR, a revert or a done ticket, beside its Outcome row.

    Keyed by (source, key), the key being the Outcome's; lists (labels, files, fixes, reopened_at) are JSON
    text, sorted, so a re-sent record compares equal. `points` null: nobody estimated it.
    """

    __table_args__ = (
        UniqueConstraint("source", "key", name="uq_workdetail_source_key"),
        Index("ix_workdetail_identity_finished", "identity_id", "finished_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    source: str  # github, jira, linear
    key: str
    identity_id: int = Field(foreign_key="identity.id")
    finished_at: datetime = Field(index=True)  # a PR's merge, a ticket's done: what retention and reads go by
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
    reopened_at: str = "[]"  # JSON list of ISO times a ticket left done again
    reverts: str | None = None  # for a revert: the key of the merge it reverts
    fixes: str = "[]"  # ticket refs a PR closes
    branch: str | None = None


class IngestRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    path: str
    source: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class RejectedRecord(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="ingestrun.id", index=True)
    location: str
    reason: str


class DigestPost(SQLModel, table=True):
    """The exactly-once claim per (team, week, platform): inserted before posting."""

    __table_args__ = (UniqueConstraint("team", "week", "platform", name="uq_digest_team_week_platform"),)
    id: int | None = Field(default=None, primary_key=True)
    team: str
    week: str
    platform: str
    state: str = "claimed"
    claimed_at: datetime
    posted_at: datetime | None = None
    channel: str | None = None
    message_ts: str | None = None
    permalink: str | None = None
    error: str | None = None
    attempts: int = 0
    members: str | None = None  # groups (ids) whose figures were posted, for the differencing guard


class Billed(SQLModel, table=True):
    """The org's billed ledger (vendor cost reports, FOCUS): reconciled against, never anyone's spend."""

    __table_args__ = (UniqueConstraint("source", "record_key", name="uq_billed_source_key"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    record_key: str
    day: date = Field(index=True)
    provider: str
    description: str | None = None
    model: str | None = None
    amount_usd: float


class Seat(SQLModel, table=True):
    """A paid seat as seen in one snapshot (Copilot billing seats)."""

    __table_args__ = (UniqueConstraint("source", "record_key", name="uq_seat_source_key"),)
    id: int | None = Field(default=None, primary_key=True)
    source: str
    record_key: str
    identity_id: int = Field(foreign_key="identity.id", index=True)
    day: date
    plan: str | None = None
    monthly_cost_usd: float | None = None
    last_activity_at: datetime | None = None
    pending_cancellation: date | None = None


class WebhookDelivery(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(unique=True)
    event: str
    received_at: datetime


class PullRun(SQLModel, table=True):
    """One pull from a vendor API: the run ledger."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(index=True)
    started_at: datetime
    finished_at: datetime | None = None
    since: date
    until: date
    status: str = "running"
    pages: int = 0
    records: int = 0
    error: str | None = None


class ConversationRef(SQLModel, table=True):
    """Where a platform lets the bot post proactively (a Teams conversation reference, as JSON)."""

    __table_args__ = (UniqueConstraint("platform", "channel_id", name="uq_conversation_platform_channel"),)
    id: int | None = Field(default=None, primary_key=True)
    platform: str
    channel_id: str
    reference: str
    updated_at: datetime


class ChartImage(SQLModel, table=True):
    """A chart PNG served at an unguessable, expiring URL."""

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True)
    content: bytes
    expires_at: datetime


class PublishedSnapshot(SQLModel, table=True):
    """A team-week's figures as first shown to anyone but the people in them; every later showing
    (re-send, `team`, later digests' history and deltas) serves this snapshot, never a recomputation."""

    __table_args__ = (UniqueConstraint("team", "week", name="uq_snapshot_team_week"),)
    id: int | None = Field(default=None, primary_key=True)
    team: str
    week: str
    published_at: datetime
    members: str  # the ids the figures cover (never shown)
    figures: str  # JSON of the disclosed figures, exactly as published


class AccessLog(SQLModel, table=True):
    """Append-only: every showing of team figures (who or which channel, team, week, when, surface)."""

    __table_args__ = (Index("ix_accesslog_team_week", "team", "week"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    surface: str  # digest, team, preview, admin_digest, export, audit, ...
    audience_kind: str  # channel, person, role
    audience: str  # channel id, email, or role name
    platform: str | None = None
    team: str | None = None
    week: str | None = None
    members: str | None = None  # the ids whose figures were inside (for `privacy`), never shown
    detail: str | None = None


class Erasure(SQLModel, table=True):
    """`tokenworth forget`: who was erased (a salted hash, not the address), when, and what was removed."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    subject: str = Field(index=True)  # sha256 of the normalised email
    identities: str  # JSON list of sha256 hashes of (kind, value) of the identity links erased
    removed: str  # JSON {table: rows removed}
    requested_by: str | None = None


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model, typed (SQLModel declares `__table__` only at run time)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


class AlertClaim(SQLModel, table=True):
    """The exactly-once claim of a FinOps alert per (subject, period, platform), inserted before posting, like
    `DigestPost` for digests: a budget threshold once a month, a cost-per-outcome regression once a week."""

    __table_args__ = (UniqueConstraint("subject", "period", "platform", name="uq_alertclaim_subject_period_platform"),)
    id: int | None = Field(default=None, primary_key=True)
    subject: str  # budget:team:platform:warning, regression:workflow:ci-pr-review, ...
    period: str  # 2026-11 for budgets, 2026-W47 for regressions
    platform: str
    claimed_at: datetime
    state: str = "claimed"  # claimed, posted
    posted_at: datetime | None = None
    channel: str | None = None
    message_id: str | None = None
