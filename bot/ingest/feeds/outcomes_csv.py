"""The generic outcomes CSV (docs/outcomes-csv.md): merged PRs and closed tickets from any tracker.

Columns: `email`, `identity` (kind:value) or `workflow`, `date`, `kind`, and optionally `quantity`, `ref`,
`title`. A person's row is a `pr_merged` or `ticket_closed`; a workflow's row is any outcome kind (a
lower-case name such as `emails_triaged`), stored against the identity `workflow:<name>` and scored by
the config's `outcome_kinds:` when read, so a kind configured later scores rows already stored.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

from bot.config.org import ALIAS_KINDS
from bot.core.weeks import to_utc
from bot.errors import FeedError
from bot.ingest.feeds.base import BAD_RECORD, BaseFeed, IdentityRef, OutcomeRow, Record, Rejection, reason

SOURCE = "outcomes_csv"
KINDS = ("pr_merged", "ticket_closed")
COLUMNS = ("email", "identity", "workflow", "date", "kind", "quantity", "ref", "title")
WHO = frozenset({"email", "identity", "workflow"})
WORKFLOW_KIND = re.compile(r"[a-z0-9][a-z0-9_]*")
# The identity kinds a row may name: the config's alias kinds (api_keys stored as api_key) and email.
IDENTITY_KINDS = frozenset({"email", "api_key", *ALIAS_KINDS} - {"api_keys", "slack", "teams"})


class OutcomesCsvFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        header = {c.strip().lower() for c in head.lstrip("\ufeff").split("\n", 1)[0].split(",")}
        return {"date", "kind"} <= header and bool(WHO & header) and header <= set(COLUMNS)

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        # A byte that is not UTF-8 becomes a lone surrogate, so it costs its row, not the file.
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
            yield from parse_outcomes_csv(handle)


def parse_outcomes_csv(lines: Iterator[str]) -> Iterator[Record | Rejection]:
    reader = csv.DictReader(lines)
    header = [(name or "").strip().lower() for name in reader.fieldnames or []]
    missing = [c for c in ("date", "kind") if c not in header]
    if not (WHO & set(header)):
        missing.insert(0, "email, identity or workflow")
    if missing:
        raise FeedError(f"outcomes CSV header lacks {', '.join(missing)} (got {', '.join(header) or 'nothing'})")
    reader.fieldnames = header
    start = reader.line_num + 1
    for row in reader:
        where, start = f"line {start}", reader.line_num + 1  # a row is named by the line it starts on
        try:
            if None in row:
                raise ValueError(f"{len(header) + len(row[None])} fields, but the header has {len(header)}")
            if any(_undecodable(value) for value in row.values() if isinstance(value, str)):
                raise ValueError("not UTF-8 text")
            item: Record | Rejection = Record(where, (_outcome({k: (v or "").strip() for k, v in row.items()}),))
        except BAD_RECORD as exc:
            item = Rejection(where, reason(exc))
        yield item


def _undecodable(text: str) -> bool:
    return not text.isascii() and any("\udc80" <= char <= "\udcff" for char in text)


def outcome_of(row: dict[str, str], key_prefix: str = "csv") -> OutcomeRow:
    """One row (column name -> stripped text) as an outcome; the outcomes webhook reads its items with it."""
    outcome = _outcome(row)
    return outcome if key_prefix == "csv" else replace(outcome, key=key_prefix + outcome.key.removeprefix("csv"))


def _outcome(row: dict[str, str]) -> OutcomeRow:
    identity = _identity(row.get("email", ""), row.get("identity", ""), row.get("workflow", ""))
    kind = row.get("kind", "")
    if identity.kind == "workflow":
        if not WORKFLOW_KIND.fullmatch(kind):
            raise ValueError(f"kind: a workflow outcome kind is a lower-case name like emails_triaged (got {kind!r})")
    elif kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)} (got {kind!r})")
    ref, title = row.get("ref", ""), row.get("title") or None
    occurred_at, quantity = _moment(row.get("date", "")), _quantity(row.get("quantity", ""))
    key = f"csv:{ref}" if ref else _content_key(identity, occurred_at, kind, quantity, title)
    return OutcomeRow(
        key=key, source=SOURCE, kind=kind, identity=identity, occurred_at=occurred_at,
        quantity=quantity, title=title,  # OutcomeRow.ref is a revert's target, not ours
    )


def _identity(email: str, identity: str, workflow: str = "") -> IdentityRef:
    if email and identity:
        raise ValueError("give either email or identity, not both")
    if workflow and (email or identity):
        raise ValueError("give either a workflow or a person (email or identity), not both")
    if workflow:
        return IdentityRef.of("workflow", workflow)
    if email:
        if "@" not in email:
            raise ValueError(f"email: {email!r} is not an email address")
        return IdentityRef.of("email", email)
    kind, sep, value = identity.partition(":")
    if not sep or not value.strip() or kind not in IDENTITY_KINDS:
        raise ValueError(f"identity: expected kind:value with kind one of {', '.join(sorted(IDENTITY_KINDS))} "
                         f"(got {identity!r})")
    return IdentityRef.of(kind, value)


def _moment(text: str) -> datetime:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(f"date: expected YYYY-MM-DD or an ISO datetime (got {text!r})") from None


def _quantity(text: str) -> float:
    if not text:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"quantity: not a number (got {text!r})") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"quantity: must be a non-negative number (got {text!r})")
    return value


def _content_key(identity: IdentityRef, occurred_at: datetime, kind: str, quantity: float, title: str | None) -> str:
    """Rows without a ref are keyed by their content, so the same row ingested again is the same outcome."""
    parts = [identity.kind, identity.value, occurred_at.isoformat(), kind, repr(quantity), title or ""]
    return "csv:sha1:" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:20]


FEED = OutcomesCsvFeed()
