"""A bounded soak of the real `tokenworth serve --http`, in its own process, against a crowd of hostile clients.

For SOAK_SECONDS: SLOW_CONNECTIONS connections that dribble a request a byte at a time (reopened
whenever the server cuts them off), forged bodies of FORGED_BYTES with newlines and a fake ERROR
line in them, and a signed /tokenworth every half second. Every signed command must be acked within
ACK_SECONDS, and the whole log must stay under LOG_BUDGET bytes (the README's number), one record a
line, with no forged byte in it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.config.settings import Settings
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.serve.logs import CONTINUATION
from tests.conftest import EXAMPLE_CONFIG, FIXTURES, ROOT
from tests.fakes.slack_api import TOKEN, FakeSlack
from tests.test_slack_commands import SECRET, WEEK, command_body, signed_headers, wait_reply

SOAK_SECONDS = 60
SLOW_CONNECTIONS = 200
FORGED_BYTES = 1_000_000
ACK_SECONDS = 3.0
LOG_BUDGET = 64 * 1024  # the README promises this for the soak: forged bodies never reach the log
RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.:-]+: ")


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[tuple[str, Path]]:
    """`tokenworth serve --http` on a free port, its log in a file; yields (base URL, log path)."""
    root = tmp_path_factory.mktemp("soak")
    db = f"sqlite:///{root / 'soak.db'}"
    runtime = Runtime(Settings(), db, str(EXAMPLE_CONFIG))
    prepare(runtime)
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    log = root / "serve.log"
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
           "GITHUB_WEBHOOK_SECRET": "soak-webhook-secret", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--http",
               "--host", "127.0.0.1", "--port", "0", "--db", db, "--config", str(EXAMPLE_CONFIG)]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=root)
    try:
        yield f"http://127.0.0.1:{_port(log, process)}", log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _port(log: Path, process: subprocess.Popen[bytes]) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if found:
            return int(found[1])
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.1)
    raise AssertionError("serve --http did not start: " + log.read_text(errors="replace"))


class Crowd:
    """The hostile clients, each kind in its own thread, until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.stopped = threading.Event()
        self.forged: dict[int, int] = {}  # status -> count
        self.reopened = 0
        self.threads = [threading.Thread(target=self._slow, daemon=True)]
        self.threads += [threading.Thread(target=self._forge, daemon=True) for _ in range(2)]

    def __enter__(self) -> Crowd:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        for thread in self.threads:
            thread.join(30)

    def _open(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: tokenworth\r\nX-Slack-Signature: v0=")
            return sock
        except OSError:
            return None

    def _slow(self) -> None:
        sockets = [self._open() for _ in range(SLOW_CONNECTIONS)]
        while not self.stopped.wait(1.0):
            for i, sock in enumerate(sockets):
                try:
                    assert sock is not None
                    sock.send(b"0")
                except (OSError, AssertionError):
                    if sock is not None:
                        sock.close()
                    sockets[i] = self._open()  # cut off by the server: the attacker simply comes back
                    self.reopened += 1
        for sock in sockets:
            if sock is not None:
                sock.close()

    def _forge(self) -> None:
        text = "me\n2026-01-01 00:00:00,000 ERROR tokenworth: FAKE-INJECTED-LINE\r\n"
        with httpx.Client(timeout=30) as client:
            while not self.stopped.is_set():
                body = (f"token=legacy-token&response_url=https://hooks.slack.test/SECRET-HOOK&text={text}"
                        ).encode().ljust(FORGED_BYTES, b"A")
                headers = signed_headers(body.decode(), secret="not-the-secret")
                try:
                    status = client.post(f"{self.url}/slack/events", content=body, headers=headers).status_code
                except httpx.HTTPError:
                    status = 0
                self.forged[status] = self.forged.get(status, 0) + 1
                self.stopped.wait(0.2)


def test_signed_commands_ack_in_time_and_the_log_stays_small_under_a_minute_of_abuse(
    served: tuple[str, Path], slack: FakeSlack
) -> None:
    url, log = served
    acks: list[float] = []
    with Crowd(url) as crowd:
        started = time.monotonic()
        while time.monotonic() - started < SOAK_SECONDS:
            hook = f"soak{len(acks)}"
            body = command_body(slack, f"me {WEEK}" if len(acks) % 2 else "help", hook=hook)
            sent = time.monotonic()
            response = httpx.post(f"{url}/slack/events", content=body, headers=signed_headers(body), timeout=30)
            acks.append(time.monotonic() - sent)
            assert response.status_code == 200, response.text
            time.sleep(0.5)
    assert max(acks) < ACK_SECONDS, sorted(acks)[-5:]
    assert "Cara Chen · week 2026-W47" in wait_reply(slack, f"soak{len(acks) - 1 - (len(acks) % 2 == 1)}")["text"]
    assert crowd.forged.get(401, 0) >= SOAK_SECONDS, crowd.forged  # the forgeries did arrive, and were refused
    assert set(crowd.forged) <= {401}, crowd.forged
    assert crowd.reopened >= SLOW_CONNECTIONS, "the server never cut a slow connection off"
    assert httpx.get(f"{url}/healthz").json()["ok"] is True

    written = log.read_bytes()
    assert len(written) < LOG_BUDGET, len(written)
    text = written.decode()
    for secret in ("FAKE-INJECTED-LINE", "SECRET-HOOK", "legacy-token", "AAAAAAAAAA"):
        assert secret not in text
    assert all(RECORD.match(line) or line.startswith(CONTINUATION) for line in text.splitlines()), text
    assert not re.search(r" (ERROR|CRITICAL) ", text) and "could not drain" not in text, text
