"""The GitHub webhook handler with real signatures, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bot.ingest.webhooks import WebhookResult, handle_github_webhook, signature_of
from storage import make_engine
from storage.engine import session_scope
from storage.models import Identity, Outcome, WebhookDelivery
from tests.conftest import FIXTURES

SECRET = b"acme-test-webhook-secret"
BODY = (FIXTURES / "github_webhook_pull_request_merged.json").read_bytes()
HEADERS = {k: v for k, v in json.loads((FIXTURES / "github_webhook_pull_request_merged.headers.json").read_text())
           .items() if not k.startswith("_")}
NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def deliver(engine: Engine, body: bytes = BODY, secret: bytes = SECRET, **changes: str | None) -> WebhookResult:
    headers = {k: v for k, v in {**HEADERS, **changes}.items() if v is not None}
    return handle_github_webhook(engine, secret, headers, body, now=NOW)


def signed(body: bytes, event: str = "pull_request", delivery: str = "d-1") -> dict[str, str]:
    return {"X-Hub-Signature-256": signature_of(SECRET, body), "X-GitHub-Event": event, "X-GitHub-Delivery": delivery}


def counts(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        outcomes = session.execute(select(func.count()).select_from(Outcome)).scalar_one()
        deliveries = session.execute(select(func.count()).select_from(WebhookDelivery)).scalar_one()
    return outcomes, deliveries


def test_signature_matches_githubs_documented_test_vector() -> None:
    assert signature_of(b"It's a Secret to Everybody", b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )
    assert signature_of(SECRET, BODY) == HEADERS["X-Hub-Signature-256"]


def test_fixture_delivery_stores_caras_merge_once_even_when_redelivered(engine: Engine) -> None:
    first = deliver(engine)
    assert first == WebhookResult(200, "stored 1 outcome")
    assert deliver(engine) == WebhookResult(200, "duplicate")
    assert counts(engine) == (1, 1)
    with session_scope(engine) as session:
        outcome = session.execute(select(Outcome)).scalar_one()
        identity = session.get(Identity, outcome.identity_id)
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
    assert (outcome.key, outcome.kind, outcome.week) == ("github:acme/app#1195:merged", "pr_merged", "2026-W47")
    assert identity is not None and (identity.kind, identity.value) == ("github", "cara-codes")
    assert (delivery.delivery_id, delivery.event) == (HEADERS["X-GitHub-Delivery"], "pull_request")


def test_a_new_delivery_of_the_same_merge_does_not_count_it_twice(engine: Engine) -> None:
    deliver(engine)
    assert deliver(engine, **{"X-GitHub-Delivery": "another-guid"}).status == 200
    assert counts(engine) == (1, 2)


@pytest.mark.parametrize(
    "case",
    ["forged", "missing", "altered-body", "wrong-secret", "sha1-only", "bare-hex"],
)
def test_unverified_deliveries_get_401_and_store_nothing(engine: Engine, case: str) -> None:
    good = HEADERS["X-Hub-Signature-256"]
    if case == "forged":
        result = deliver(engine, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
    elif case == "missing":
        result = deliver(engine, **{"X-Hub-Signature-256": None})
    elif case == "altered-body":
        result = deliver(engine, body=BODY.replace(b"cara-codes", b"benb"))
    elif case == "wrong-secret":
        result = deliver(engine, secret=b"not-the-secret")
    elif case == "sha1-only":
        result = deliver(engine, **{"X-Hub-Signature-256": None, "X-Hub-Signature": HEADERS["X-Hub-Signature"]})
    else:
        result = deliver(engine, **{"X-Hub-Signature-256": good.removeprefix("sha256=")})
    assert result == WebhookResult(401, "invalid signature")
    assert counts(engine) == (0, 0)


def test_no_configured_secret_refuses_every_delivery(engine: Engine) -> None:
    result = deliver(engine, secret=b"", **{"X-Hub-Signature-256": signature_of(b"", BODY)})
    assert result.status == 503
    assert counts(engine) == (0, 0)


def test_header_names_are_case_insensitive(engine: Engine) -> None:
    lower = {k.lower(): v for k, v in HEADERS.items()}
    assert handle_github_webhook(engine, SECRET, lower, BODY, now=NOW).status == 200
    assert counts(engine) == (1, 1)


def test_ping_and_other_events_are_acknowledged_without_storing(engine: Engine) -> None:
    ping = b'{"zen": "Keep it logically awesome.", "hook_id": 612004477}'
    assert handle_github_webhook(engine, SECRET, signed(ping, "ping"), ping) == WebhookResult(200, "pong")
    push = b'{"ref": "refs/heads/main"}'
    assert handle_github_webhook(engine, SECRET, signed(push, "push"), push).status == 202
    assert counts(engine) == (0, 0)


@pytest.mark.parametrize(
    "body",
    [b'{"action": "closed", "pull_request": ', b"\xff\xfe not utf-8", b"[1, 2]", b'{"action": "closed"}',
     b'{"action": "closed", "pull_request": {"number": "seven", "user": null}}'],
    ids=["truncated", "not-utf8", "not-an-object", "no-pull-request", "bad-pull-request"],
)
def test_signed_but_unusable_payloads_get_400_and_store_nothing(engine: Engine, body: bytes) -> None:
    result = handle_github_webhook(engine, SECRET, signed(body), body)
    assert result.status == 400 and result.message.startswith("unusable payload")
    assert counts(engine) == (0, 0)


def test_pull_request_delivery_without_a_delivery_id_is_a_bad_request(engine: Engine) -> None:
    assert deliver(engine, **{"X-GitHub-Delivery": None}).status == 400
    assert counts(engine) == (0, 0)


def test_an_unmerged_close_is_recorded_as_delivered_but_counts_nothing(engine: Engine) -> None:
    payload = json.loads(BODY)
    payload["pull_request"].update(merged=False, merged_at=None)
    body = json.dumps(payload).encode()
    assert handle_github_webhook(engine, SECRET, signed(body), body) == WebhookResult(200, "stored 0 outcomes")
    assert counts(engine) == (0, 1)


@pytest.mark.parametrize("depth", [100_000, 2_000])
def test_deeply_nested_json_in_a_signed_delivery_is_a_bad_request(engine: Engine, depth: int) -> None:
    body = b'{"action": "closed", "pull_request": ' + b"[" * depth + b"]" * depth + b"}"
    result = handle_github_webhook(engine, SECRET, signed(body), body)
    assert result.status == 400 and result.message.startswith("unusable payload")
    assert counts(engine) == (0, 0)


class WriteLock:
    """Another connection holding the database's write lock, as a long ingest does, until released."""

    def __init__(self, engine: Engine) -> None:
        self.connection = engine.connect()
        if engine.dialect.name == "sqlite":
            self.connection.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite's one write lock, held
        else:
            self.connection.begin()
            self.connection.exec_driver_sql("LOCK TABLE webhookdelivery, outcome IN ACCESS EXCLUSIVE MODE")

    def release(self) -> None:
        self.connection.rollback()
        self.connection.close()


def test_a_delivery_that_meets_a_held_write_lock_is_spooled_then_stored(engine: Engine, tmp_path: Path) -> None:
    from bot.ingest.webhooks import drain_spool

    spool = tmp_path / "spool"
    lock = WriteLock(engine)
    try:
        started = time.monotonic()
        result = deliver_spooled(engine, spool, lock_wait=0.5)
        took = time.monotonic() - started
        assert result == WebhookResult(202, "queued: the database is busy; it will be stored shortly")
        assert took < 3
        assert [p.suffix for p in spool.iterdir()] == [".json"]
        assert drain_spool(engine, spool, lock_wait=0.2) == 0  # still locked: it stays in the spool
        assert len(list(spool.iterdir())) == 1
    finally:
        lock.release()
    assert counts(engine) == (0, 0)
    assert drain_spool(engine, spool) == 1
    assert list(spool.iterdir()) == [] and counts(engine) == (1, 1)
    with session_scope(engine) as session:
        delivery = session.execute(select(WebhookDelivery)).scalar_one()
    assert delivery.received_at.replace(tzinfo=UTC) == NOW  # as received, not as drained
    assert deliver_spooled(engine, spool) == WebhookResult(200, "duplicate")  # GitHub's redelivery changes nothing


def deliver_spooled(engine: Engine, spool: Path, lock_wait: float = 4) -> WebhookResult:
    return handle_github_webhook(engine, SECRET, HEADERS, BODY, now=NOW, spool=spool, lock_wait=lock_wait)


def test_a_spooled_delivery_survives_a_restart_and_a_torn_write(engine: Engine, tmp_path: Path) -> None:
    from bot.ingest.webhooks import drain_spool

    spool = tmp_path / "spool"
    lock = WriteLock(engine)
    try:
        assert deliver_spooled(engine, spool, lock_wait=0.2).status == 202
    finally:
        lock.release()
    (spool / ".half-written.tmp").write_bytes(b'{"delivery": "d-')  # a crash mid-write leaves only a temp file
    (spool / "0-garbage.json").write_bytes(b"not json")
    fresh = make_engine(engine.url.render_as_string(hide_password=False))  # another process, after a restart
    try:
        assert drain_spool(fresh, spool) == 1
    finally:
        fresh.dispose()
    assert counts(engine) == (1, 1)
    assert sorted(p.name for p in spool.iterdir()) == [".half-written.tmp", "0-garbage.json.rejected"]


def test_without_a_spool_a_locked_database_is_a_503_not_a_500(engine: Engine) -> None:
    lock = WriteLock(engine)
    try:
        result = handle_github_webhook(engine, SECRET, HEADERS, BODY, now=NOW, lock_wait=0.2)
    finally:
        lock.release()
    assert result.status == 503 and counts(engine) == (0, 0)
