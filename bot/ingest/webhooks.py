"""GitHub webhooks as one pure function: signed bytes in, an HTTP status and message out.

The HTTP server only passes the raw body and headers through; verification, deduplication by
delivery id and storage happen here, so any framework can mount it at POST /webhooks/github.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.errors import FeedError
from bot.ingest.feeds.base import OutcomeRow, Rejection
from bot.ingest.feeds.github_pulls import parse_pulls
from bot.core.weeks import Week
from storage.engine import session_scope
from storage.models import Outcome, WebhookDelivery
from storage.writes import identity_ids, upsert


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
    if not secret:
        return WebhookResult(503, "webhook secret not configured; refusing unverifiable deliveries")
    header = {k.lower(): v for k, v in headers.items()}
    if not _signed(secret, body, header.get("x-hub-signature-256", "")):
        return WebhookResult(401, "invalid signature")
    event = header.get("x-github-event", "")
    if event == "ping":
        return WebhookResult(200, "pong")
    if event != "pull_request":
        return WebhookResult(202, f"ignored event {event or '(none)'}")
    delivery = header.get("x-github-delivery", "").strip()
    if not delivery:
        return WebhookResult(400, "missing X-GitHub-Delivery")
    try:
        rows = _pull_outcomes(json.loads(body))
    except (ValueError, FeedError) as exc:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return WebhookResult(400, f"unusable payload: {exc}")
    received = now or datetime.now(timezone.utc)
    with session_scope(engine) as session:
        if not _claim_delivery(session, delivery, event, received):
            return WebhookResult(200, "duplicate")
        store_outcomes(session, rows)
    return WebhookResult(200, f"stored {len(rows)} outcome{'s' if len(rows) != 1 else ''}")


def _signed(secret: bytes, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature_of(secret, body).encode(), given.strip().encode("utf-8", "replace"))


def _pull_outcomes(payload: Any) -> list[OutcomeRow]:
    if not isinstance(payload, dict) or not isinstance(payload.get("pull_request"), dict):
        raise FeedError("a pull_request event needs a pull_request object")
    rows: list[OutcomeRow] = []
    for item in parse_pulls(payload):
        if isinstance(item, Rejection):
            raise FeedError(f"{item.location}: {item.reason}")
        rows.extend(row for row in item.rows if isinstance(row, OutcomeRow))
    return rows


def _claim_delivery(session: Session, delivery: str, event: str, received: datetime) -> bool:
    """Record the delivery id; False when it was already recorded (GitHub redelivered it)."""
    table = WebhookDelivery.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).values(delivery_id=delivery, event=event, received_at=received)
    result = session.execute(insert.on_conflict_do_nothing(index_elements=["delivery_id"]).returning(table.c.id))
    return result.first() is not None


def store_outcomes(session: Session, rows: Iterable[OutcomeRow]) -> int:
    """Upsert outcome rows by key, as bot.ingest.files does for feed files; the number new or restated."""
    rows = list(rows)
    if not rows:
        return 0
    ids = identity_ids(session, {(r.identity.kind, r.identity.value) for r in rows})
    values = []
    for row in rows:
        value = asdict(row)
        identity = value.pop("identity")
        values.append({**value, "identity_id": ids[(identity["kind"], identity["value"])],
                       "week": str(Week.of(row.occurred_at))})
    return len(upsert(session, Outcome, ("key",), values).stored)

