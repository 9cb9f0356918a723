"""GitHub webhooks as one function: signed bytes in, an HTTP status and message out.

The HTTP server only passes the raw body and headers through; verification and deduplication by
delivery id happen here, so any framework can mount it at POST /webhooks/github. The payload is
parsed by the GitHub pulls feed and stored by bot.ingest.store, exactly as a pulls file would be:
a new delivery of a merge already stored finds its key taken and changes nothing.

A verified delivery is never lost to a busy database. GitHub waits 10 seconds and does not redeliver,
so the write waits at most LOCK_WAIT_SECONDS for the lock (a long ingest holds SQLite's only write
lock); then the delivery is written durably to the spool (a directory: one file per delivery,
written to a temporary name, fsynced, then renamed) and answered 202. `drain_spool` stores spooled
deliveries exactly as if they had just arrived, with the time they were received, and removes each
file only once its delivery is committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.errors import FeedError
from bot.ingest.feeds.base import BAD_RECORD, OutcomeRow, Record, Rejection, reason
from bot.ingest.feeds.github_pulls import FEED, parse_pulls
from bot.ingest.feeds.outcomes_csv import COLUMNS as OUTCOME_COLUMNS
from bot.ingest.feeds.outcomes_csv import FEED as OUTCOME_FEED
from bot.ingest.feeds.outcomes_csv import outcome_of
from bot.ingest.store import store_records
from storage.dialect import dialect_name, insert
from storage.engine import session_scope
from storage.models import WebhookDelivery, table

log = logging.getLogger("tokenworth.webhooks")
LOCK_WAIT_SECONDS = 4.0  # well inside GitHub's 10-second timeout
SPOOL_SUFFIX = ".json"
_DRAINING = threading.Lock()


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


@dataclass(frozen=True)
class Delivery:
    """A verified pull_request delivery: what is stored, or spooled to be stored later."""

    delivery_id: str
    event: str
    body: bytes
    received_at: datetime


def signature_of(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends: HMAC-SHA256 over the raw body bytes."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def handle_github_webhook(
    engine: Engine, secret: bytes, headers: Mapping[str, str], body: bytes, now: datetime | None = None,
    spool: Path | None = None, lock_wait: float = LOCK_WAIT_SECONDS,
) -> WebhookResult:
    """Verify, then act on a delivery: nothing is parsed, let alone stored, before the signature checks out."""
    header = {k.lower(): v for k, v in headers.items()}
    early = _answer_unread(secret, body, header)
    if early is not None:
        return early
    delivery = Delivery(header["x-github-delivery"].strip(), header["x-github-event"], body, now or datetime.now(UTC))
    try:
        records = _records_of(body)
    except (ValueError, ArithmeticError, RecursionError, FeedError) as exc:  # JSON, UTF-8, nesting, the feed
        return WebhookResult(400, f"unusable payload: {str(exc)[:200]}")
    try:
        return _store(engine, delivery, records, lock_wait)
    except OperationalError as exc:  # the lock wait ran out, or the database is down
        if spool is None:
            return WebhookResult(503, "the database is busy; deliver again later")
        write_to_spool(spool, delivery)
        log.warning("webhook delivery %s spooled to %s: %s", delivery.delivery_id, spool, type(exc.orig).__name__)
        return WebhookResult(202, "queued: the database is busy; it will be stored shortly")


def _answer_unread(secret: bytes, body: bytes, header: Mapping[str, str]) -> WebhookResult | None:
    """The answer to a delivery whose payload is never read (unverifiable, a ping, another event); else None."""
    if not secret:
        return WebhookResult(503, "webhook secret not configured; refusing unverifiable deliveries")
    if not _signed(secret, body, header.get("x-hub-signature-256", "")):
        return WebhookResult(401, "invalid signature")
    event = header.get("x-github-event", "")
    if event == "ping":
        return WebhookResult(200, "pong")
    if event != "pull_request":
        return WebhookResult(202, f"ignored event {event or '(none)'}")
    if not header.get("x-github-delivery", "").strip():
        return WebhookResult(400, "missing X-GitHub-Delivery")
    return None


def _signed(secret: bytes, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature_of(secret, body).encode(), given.strip().encode("utf-8", "replace"))


def _records_of(body: bytes) -> list[Record]:
    """The delivery's pull request as the pulls feed reads it; a payload it would reject is unusable."""
    payload: Any = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("pull_request"), dict):
        raise FeedError("a pull_request event needs a pull_request object")
    records: list[Record] = []
    for item in parse_pulls(payload):
        if isinstance(item, Rejection):
            raise FeedError(f"{item.location}: {item.reason}")
        records.append(item)
    return records


def _store(engine: Engine, delivery: Delivery, records: list[Record], lock_wait: float) -> WebhookResult:
    with session_scope(engine) as session, _lock_wait(session, lock_wait):
        if not _claim_delivery(session, delivery.delivery_id, delivery.event, delivery.received_at):
            return WebhookResult(200, "duplicate")
        store_records(session, records, unique_keys=FEED.unique_keys)
    outcomes = sum(isinstance(row, OutcomeRow) for record in records for row in record.rows)
    return WebhookResult(200, f"stored {outcomes} outcome{'s' if outcomes != 1 else ''}")


@contextmanager
def _lock_wait(session: Session, seconds: float) -> Iterator[None]:
    """Wait at most `seconds` for a lock in this transaction; the connection's own setting is restored after."""
    millis = max(1, int(seconds * 1000))
    if dialect_name(session) == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {millis}"))  # ends with the transaction
        yield
        return
    before = session.execute(text("PRAGMA busy_timeout")).scalar_one()
    session.execute(text(f"PRAGMA busy_timeout = {millis}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA busy_timeout = {int(before)}"))


def _claim_delivery(session: Session, delivery: str, event: str, received: datetime) -> bool:
    """Record the delivery id; False when it was already recorded (GitHub redelivered it)."""
    deliveries = table(WebhookDelivery)
    claim = insert(session, deliveries).values(delivery_id=delivery, event=event, received_at=received)
    result = session.execute(claim.on_conflict_do_nothing(index_elements=["delivery_id"]).returning(deliveries.c.id))
    return result.first() is not None


def spool_dir(db_url: str, configured: str | None = None) -> Path:
    """The spool: WEBHOOK_SPOOL_DIR, else a directory next to a SQLite file, else ./tokenworth-webhooks."""
    if configured:
        return Path(configured)
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(f"{url.database}-webhooks")
    return Path("tokenworth-webhooks")


def write_to_spool(spool: Path, delivery: Delivery) -> Path:
    """Durably: a temporary file, fsynced, renamed into place, and the directory fsynced."""
    spool.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(delivery.delivery_id.encode()).hexdigest()[:32]
    path = spool / f"{delivery.received_at:%Y%m%dT%H%M%S%f}-{digest}{SPOOL_SUFFIX}"
    temporary = spool / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
    document = {"delivery": delivery.delivery_id, "event": delivery.event,
                "received_at": delivery.received_at.isoformat(), "body": base64.b64encode(delivery.body).decode()}
    with open(temporary, "wb") as handle:
        handle.write(json.dumps(document).encode())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(spool, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return path


def drain_spool(engine: Engine, spool: Path, lock_wait: float = LOCK_WAIT_SECONDS) -> int:
    """Store the spooled deliveries, oldest first, until the database is busy again; returns how many
    left the spool (stored, or found stored already). A file that is not a usable delivery is renamed
    `*.rejected` and kept for a person to look at.
    """
    if not spool.is_dir() or not _DRAINING.acquire(blocking=False):
        return 0  # nothing spooled, or another thread is draining right now
    drained = 0
    try:
        for path in sorted(spool.glob(f"*{SPOOL_SUFFIX}")):
            try:
                delivery = _read_spooled(path)
                _store(engine, delivery, _records_of(delivery.body), lock_wait)
            except OperationalError:
                break  # still busy: it stays for the next round
            except (ValueError, KeyError, TypeError, ArithmeticError, RecursionError, FeedError) as exc:
                log.warning("spooled webhook %s is unusable (%s); kept as .rejected", path.name, type(exc).__name__)
                path.replace(path.with_name(path.name + ".rejected"))
                continue
            path.unlink(missing_ok=True)
            drained += 1
    finally:
        _DRAINING.release()
    if drained:
        log.info("stored %d spooled webhook deliver%s", drained, "y" if drained == 1 else "ies")
    return drained


def _read_spooled(path: Path) -> Delivery:
    document = json.loads(path.read_bytes())
    received = datetime.fromisoformat(document["received_at"])
    return Delivery(str(document["delivery"]), str(document["event"]), base64.b64decode(document["body"]), received)


# The outcomes webhook: workflows (agents, bots, pipelines) report what they got done.
OUTCOMES_SIGNATURE_HEADER = "x-tokenworth-signature-256"
OUTCOMES_SOURCE = "outcomes_webhook"
MAX_OUTCOMES = 1000


def handle_outcomes_webhook(
    engine: Engine, secret: bytes, headers: Mapping[str, str], body: bytes, now: datetime | None = None,
    lock_wait: float = LOCK_WAIT_SECONDS,
) -> WebhookResult:
    """`POST /webhooks/outcomes`: `{"id": ..., "outcomes": [{"workflow", "kind", "quantity", "date", "ref"}]}`,
    signed like GitHub's (`sha256=` HMAC of the raw body in X-Tokenworth-Signature-256), verified before it is
    parsed, stored once per payload id. Good items are stored and bad ones named; none good is a 400."""
    header = {k.lower(): v for k, v in headers.items()}
    if not secret:
        return WebhookResult(503, "outcomes webhook secret not configured; refusing unverifiable deliveries")
    if not _signed(secret, body, header.get(OUTCOMES_SIGNATURE_HEADER, "")):
        return WebhookResult(401, "invalid signature")
    try:
        payload_id, records, rejected = _outcome_records(body)
    except (ValueError, ArithmeticError, RecursionError, FeedError) as exc:
        return WebhookResult(400, f"unusable payload: {str(exc)[:200]}")
    if not records:
        return WebhookResult(400, "no usable outcome: " + "; ".join(rejected)[:400])
    try:
        with session_scope(engine) as session, _lock_wait(session, lock_wait):
            if not _claim_delivery(session, f"outcomes:{payload_id}", "outcomes", now or datetime.now(UTC)):
                return WebhookResult(202, "duplicate")
            store_records(session, records, unique_keys=OUTCOME_FEED.unique_keys)
    except OperationalError:  # the lock wait ran out: nothing was stored, the sender may send it again
        return WebhookResult(503, "the database is busy; deliver again later")
    refused = f"; rejected {len(rejected)}: " + "; ".join(rejected)[:400] if rejected else ""
    return WebhookResult(202, f"stored {len(records)} outcome{'s' if len(records) != 1 else ''}{refused}")


def _outcome_records(body: bytes) -> tuple[str, list[Record], list[str]]:
    payload: Any = json.loads(body)
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str) or not payload["id"].strip():
        raise FeedError("the payload needs an id (a string that names it, for deduplication)")
    items = payload.get("outcomes")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_OUTCOMES:
        raise FeedError(f"outcomes: a list of 1 to {MAX_OUTCOMES} outcomes")
    payload_id = payload["id"].strip()[:200]
    records: list[Record] = []
    rejected: list[str] = []
    for n, item in enumerate(items):
        where = f"outcomes[{n}]"
        try:
            if not isinstance(item, dict) or not item.get("workflow"):
                raise ValueError("an object naming its workflow")
            row = {k: str(v).strip() for k, v in item.items() if k in OUTCOME_COLUMNS and v is not None}
            row.setdefault("ref", f"{payload_id}#{n}")
            records.append(Record(where, (replace(outcome_of(row, "webhook"), source=OUTCOMES_SOURCE),)))
        except BAD_RECORD as exc:
            rejected.append(f"{where}: {reason(exc)}")
    return payload_id, records, rejected
