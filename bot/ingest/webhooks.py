"""GitHub webhooks as one pure function: signed bytes in, an HTTP status and message out.

The HTTP server only passes the raw body and headers through; verification and deduplication by
delivery id happen here, so any framework can mount it at POST /webhooks/github. The payload is
parsed by the GitHub pulls feed and stored by bot.ingest.store, exactly as a pulls file would be:
a new delivery of a merge already stored finds its key taken and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.errors import FeedError
from bot.ingest.feeds.base import OutcomeRow, Record, Rejection
from bot.ingest.feeds.github_pulls import FEED, parse_pulls
from bot.ingest.store import store_records
from storage.dialect import insert
from storage.engine import session_scope
from storage.models import WebhookDelivery, table


@dataclass(frozen=True)
class WebhookResult:
    status: int
    message: str


def signature_of(secret: bytes, body: bytes) -> str:
    """The X-Hub-Signature-256 value GitHub sends: HMAC-SHA256 over the raw body bytes."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def handle_github_webhook(
    engine: Engine, secret: bytes, headers: Mapping[str, str], body: bytes, now: datetime | None = None
) -> WebhookResult:
    """Verify, then act on a delivery: nothing is parsed, let alone stored, before the signature checks out."""
    header = {k.lower(): v for k, v in headers.items()}
    early = _answer_unread(secret, body, header)
    if early is not None:
        return early
    try:
        records = _pull_records(json.loads(body))
    except (ValueError, FeedError) as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return WebhookResult(400, f"unusable payload: {exc}")
    with session_scope(engine) as session:
        delivery = header["x-github-delivery"].strip()
        if not _claim_delivery(session, delivery, header["x-github-event"], now or datetime.now(UTC)):
            return WebhookResult(200, "duplicate")
        store_records(session, records, unique_keys=FEED.unique_keys)
    outcomes = sum(isinstance(row, OutcomeRow) for record in records for row in record.rows)
    return WebhookResult(200, f"stored {outcomes} outcome{'s' if outcomes != 1 else ''}")


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


def _pull_records(payload: Any) -> list[Record]:
    """The delivery's pull request as the pulls feed reads it; a payload it would reject is unusable."""
    if not isinstance(payload, dict) or not isinstance(payload.get("pull_request"), dict):
        raise FeedError("a pull_request event needs a pull_request object")
    records: list[Record] = []
    for item in parse_pulls(payload):
        if isinstance(item, Rejection):
            raise FeedError(f"{item.location}: {item.reason}")
        records.append(item)
    return records


def _claim_delivery(session: Session, delivery: str, event: str, received: datetime) -> bool:
    """Record the delivery id; False when it was already recorded (GitHub redelivered it)."""
    deliveries = table(WebhookDelivery)
    claim = insert(session, deliveries).values(delivery_id=delivery, event=event, received_at=received)
    result = session.execute(claim.on_conflict_do_nothing(index_elements=["delivery_id"]).returning(deliveries.c.id))
    return result.first() is not None
