"""`serve --http` under hostile and unlucky clients: slow and idle connections, huge and forged bodies.

A real waitress server on a loopback port, real signed Slack requests, raw sockets for what no
well-behaved client would send.
"""

from __future__ import annotations

import io
import json
import logging
import re
import select
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select as select_rows

from bot.runtime import Runtime
from bot.serve.run import slack_app
from bot.slack.http import BODY_CAPS, DEFAULT_BODY_CAP, Limits, http_server
from storage.engine import session_scope
from storage.models import WebhookDelivery
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_commands import command_body, runtime, signed_headers, slack, wait_reply  # noqa: F401

SLACK_CAP = BODY_CAPS["/slack/events"]
GITHUB_CAP = BODY_CAPS["/webhooks/github"]


@pytest.fixture(scope="module")
def server(runtime: Runtime) -> Iterator[str]:  # noqa: F811
    http = http_server(runtime, slack_app(runtime, require_signing_secret=True), "127.0.0.1", 0)
    threading.Thread(target=http.run, daemon=True).start()
    yield f"http://127.0.0.1:{http.effective_port}"
    http.close()


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


class SlowClients:
    """Connections that say nothing, or dribble a request one byte at a time, as a slowloris does."""

    def __init__(self, port: int, idle: int, slow: int, every: float = 0.5) -> None:
        self.port, self.every = port, every
        self.idle = [self._open() for _ in range(idle)]
        self.slow = [self._open() for _ in range(slow)]
        for sock in self.slow:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: tokenworth\r\n")
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._dribble, daemon=True)
        self.thread.start()

    def _open(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def _dribble(self) -> None:
        while not self.stopped.wait(self.every):
            for sock in self.slow:
                try:
                    sock.send(b"X")
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        for sock in self.idle + self.slow:
            sock.close()


def signed_command(server: str, slack: FakeSlack, hook: str, text: str = "help") -> float:  # noqa: F811
    """Send one signed /tokenworth and return how long the ack took."""
    body = command_body(slack, text, hook=hook)
    started = time.monotonic()
    response = httpx.post(f"{server}/slack/events", content=body, headers=signed_headers(body), timeout=5)
    took = time.monotonic() - started
    assert response.status_code == 200 and response.text == ""
    return took


def test_hundreds_of_idle_and_slow_connections_do_not_starve_signed_commands(
    server: str, slack: FakeSlack  # noqa: F811
) -> None:
    crowd = SlowClients(port_of(server), idle=150, slow=150)
    try:
        time.sleep(0.5)
        acks = [signed_command(server, slack, f"crowd{i}") for i in range(5)]
    finally:
        crowd.close()
    assert max(acks) < 3, acks
    assert "/tokenworth me" in wait_reply(slack, "crowd4")["text"]


def read_until_closed(sock: socket.socket, seconds: float) -> bytes:
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pass
    return received


def test_a_request_that_takes_too_long_to_arrive_is_cut_off(runtime: Runtime) -> None:  # noqa: F811
    limits = Limits(request_seconds=1, idle_seconds=2, cleanup_seconds=1)
    http = http_server(runtime, None, "127.0.0.1", 0, limits=limits)
    threading.Thread(target=http.run, daemon=True).start()
    try:
        crowd = SlowClients(http.effective_port, idle=1, slow=1, every=0.2)
        started = time.monotonic()
        try:
            slow_closed = read_until_closed(crowd.slow[0], 6)
            slow_after = time.monotonic() - started
            idle_closed = read_until_closed(crowd.idle[0], 6)
            idle_after = time.monotonic() - started
        finally:
            crowd.close()
    finally:
        http.close()
    assert slow_closed == b"" and slow_after < 4
    assert idle_after < 5 and idle_closed == b""


def raw_request(port: int, head: str, body: bytes = b"", seconds: float = 5) -> bytes:
    """Send a request head (and maybe the start of a body) and return whatever comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        return read_until_closed(sock, seconds)


@pytest.mark.parametrize(
    ("path", "length"),
    [("/slack/events", SLACK_CAP + 1), ("/slack/events", 50 * 1024 * 1024), ("/webhooks/github", GITHUB_CAP + 1),
     ("/healthz", DEFAULT_BODY_CAP + 1), ("/nope", 1024 * 1024)],
)
def test_a_body_over_the_routes_cap_is_refused_before_it_is_sent(server: str, path: str, length: int) -> None:
    started = time.monotonic()
    reply = raw_request(port_of(server), f"POST {path} HTTP/1.1\r\nHost: tokenworth\r\nContent-Length: {length}")
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert time.monotonic() - started < 3  # answered on the headers, without waiting for the body


def test_a_chunked_body_over_the_cap_is_refused_as_it_crosses_the_cap(server: str) -> None:
    chunk = b"x" * 8000
    with socket.create_connection(("127.0.0.1", port_of(server)), timeout=5) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: tokenworth\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while not select.select([sock], [], [], 0.005)[0]:
            assert sent < 2 * SLACK_CAP, "the server kept reading past the cap"
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        reply = read_until_closed(sock, 5)
    assert reply.startswith(b"HTTP/1.1 413") and SLACK_CAP - 20_000 < sent < SLACK_CAP + 100_000


def test_a_body_just_under_the_cap_is_read_and_refused_for_its_signature(server: str) -> None:
    body = b"token=legacy&text=" + b"a" * (SLACK_CAP - 100)
    response = httpx.post(f"{server}/slack/events", content=body, timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("case", "status"),
    [("timestamp-not-a-number", 401), ("timestamp-unicode-digits", 401), ("unsigned-not-utf8", 401),
     ("signed-not-utf8", 400), ("signature-not-ascii", 401)],
)
def test_malformed_slack_requests_get_4xx_before_anything_is_parsed(
    server: str, slack: FakeSlack, case: str, status: int, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    body = command_body(slack, "me", hook="never").encode()
    headers = signed_headers(body.decode())
    if case == "timestamp-not-a-number":
        headers["X-Slack-Request-Timestamp"] = "yesterday"
    elif case == "timestamp-unicode-digits":
        headers["X-Slack-Request-Timestamp"] = "١٢٣٤"
    elif case == "unsigned-not-utf8":
        body = b"\xff\xfe" + body
    elif case == "signed-not-utf8":
        body = b"\xff\xfe" + body
        headers = signed_bytes_headers(body)
    else:
        headers["X-Slack-Signature"] = "v0=\u00e9\u00e9"
    with caplog.at_level(logging.INFO):
        response = httpx.post(f"{server}/slack/events", content=body, headers=_latin1(headers), timeout=5)
    assert response.status_code == status
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def signed_bytes_headers(body: bytes) -> dict[str, str]:
    import hashlib
    import hmac

    from tests.test_slack_commands import SECRET

    ts = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={mac}",
            "Content-Type": "application/x-www-form-urlencoded"}


def _latin1(headers: dict[str, str]) -> dict[str, bytes]:
    return {k: v.encode("utf-8") for k, v in headers.items()}


def test_forged_requests_never_put_their_body_in_the_log(
    runtime: Runtime, slack: FakeSlack, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    injected = "me\n2026-01-01 00:00:00,000 ERROR tokenworth: FAKE-INJECTED-LINE\r\n"
    caplog.set_level(logging.DEBUG)  # as verbose as anybody could configure it: bodies must still stay out
    app = slack_app(runtime, require_signing_secret=True)  # Bolt takes the root level when it is built
    http = http_server(runtime, app, "127.0.0.1", 0)
    threading.Thread(target=http.run, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{http.effective_port}/slack/events"
        body = command_body(slack, injected + "x" * 200_000, hook="secret-hook")
        forged = signed_headers(body, secret="not-the-secret")
        assert httpx.post(url, content=body, headers=forged, timeout=10).status_code == 401
        unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
        assert httpx.post(url, content=body, headers=unsigned, timeout=10).status_code == 401
    finally:
        http.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("FAKE-INJECTED-LINE", "secret-hook", "legacy", "xxxxxxxxxx"):
        assert secret not in logged
    assert len(logged) < 10_000


def github_delivery(number: int, delivery: str) -> tuple[bytes, dict[str, str]]:
    from bot.ingest.webhooks import signature_of
    from tests.conftest import FIXTURES

    payload = json.loads((FIXTURES / "github_webhook_pull_request_merged.json").read_text())
    payload["pull_request"]["number"] = number
    body = json.dumps(payload).encode()
    return body, {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery, "Content-Type": "application/json",
                  "X-Hub-Signature-256": signature_of(b"acme-test-webhook-secret", body)}


def stored_deliveries(runtime: Runtime) -> set[str]:  # noqa: F811
    with session_scope(runtime.engine) as session:
        return set(session.execute(select_rows(WebhookDelivery.delivery_id)).scalars())


def test_a_webhook_during_a_long_ingest_is_answered_in_time_and_stored_afterwards(
    server: str, runtime: Runtime  # noqa: F811
) -> None:
    database = runtime.engine.url.database
    assert database is not None
    ingest = sqlite3.connect(database, isolation_level=None)
    ingest.execute("BEGIN IMMEDIATE")  # a long ingest holds SQLite's one write lock
    try:
        body, headers = github_delivery(7001, "during-ingest")
        started = time.monotonic()
        response = httpx.post(f"{server}/webhooks/github", content=body, headers=headers, timeout=10)
        took = time.monotonic() - started
    finally:
        ingest.rollback()
        ingest.close()
    assert response.status_code == 202 and took < 8  # GitHub gives up after 10 s and never redelivers
    assert "during-ingest" not in stored_deliveries(runtime)
    body, headers = github_delivery(7002, "after-ingest")
    assert httpx.post(f"{server}/webhooks/github", content=body, headers=headers, timeout=10).status_code == 200
    deadline = time.monotonic() + 10
    while "during-ingest" not in stored_deliveries(runtime) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {"during-ingest", "after-ingest"} <= stored_deliveries(runtime)


def test_the_serve_log_keeps_one_record_per_line_whatever_a_record_carries() -> None:
    from bot.serve.logs import CONTINUATION, FORMAT, MAX_MESSAGE, SafeFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter(FORMAT))
    logger = logging.getLogger("tokenworth.test.hostile")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("command %s failed", "me\n2026-01-01 00:00:00,000 ERROR tokenworth: FAKE\r\x1b[2J\u2028x")
        logger.warning("x" * 50_000)
        logger.warning("bad %d arguments", "not-a-number")
        try:
            raise ValueError("bad\n2026-01-01 00:00:00,000 ERROR tokenworth: FAKE-IN-TRACEBACK")
        except ValueError:
            logger.exception("failed on %s", "a\rb")
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    records = [line for line in lines if not line.startswith(CONTINUATION)]
    stamp = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (WARNING|ERROR) tokenworth.test.hostile: ")
    assert len(records) == 4 and all(stamp.match(record) for record in records)
    assert "me\\n2026-01-01" in records[0] and "\\r\\x1b[2J\\u2028x" in records[0]
    assert len(records[1]) < MAX_MESSAGE + 200 and "48000 more characters" in records[1]
    assert "not-a-number" in records[2]
    assert any("FAKE-IN-TRACEBACK" in line for line in lines if line.startswith(CONTINUATION))
    assert [line for line in records if "FAKE" in line] == [records[0]]


def test_serve_drains_the_spool_by_itself_when_no_new_delivery_comes(runtime: Runtime) -> None:  # noqa: F811
    from datetime import UTC, datetime

    from bot.ingest.webhooks import Delivery, write_to_spool
    from bot.serve.run import drain_webhooks

    server = http_server(runtime, None, "127.0.0.1", 0)
    server.close()  # only its router is needed: serve hands the router to the drain thread
    router = server.router
    body, _ = github_delivery(7003, "while-nobody-writes")
    write_to_spool(router.spool, Delivery("while-nobody-writes", "pull_request", body, datetime.now(UTC)))
    stop = threading.Event()
    drainer = threading.Thread(target=drain_webhooks, args=(router, stop, 0.1), daemon=True)
    drainer.start()
    try:
        deadline = time.monotonic() + 10
        while "while-nobody-writes" not in stored_deliveries(runtime) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        drainer.join()
    assert "while-nobody-writes" in stored_deliveries(runtime)
    assert not list(router.spool.glob("*.json"))
