"""`tokenworth serve` at start: settings checked before the database or the network, honest logs, /healthz."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bot.cli import cli
from bot.config.settings import Settings
from bot.digest import ledger
from bot.ingest.files import ingest_paths
from bot.runtime import Runtime
from bot.slack.http import http_server
from tests.conftest import EXAMPLE_CONFIG, FIXTURES, ROOT

BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MICROSOFT_", "GITHUB_", "TEAMS_"))
            and k not in ("DATABASE_URL", "TOKENWORTH_CONFIG")}


@pytest.mark.parametrize(("mode", "env", "named"), [
    ("socket", {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN is not set"),
    ("socket", {"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN is not set"),
    ("http", {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
    ("http", {}, "SLACK_BOT_TOKEN and GITHUB_WEBHOOK_SECRET are not set"),
    ("teams", {}, "MICROSOFT_APP_ID is not set"),
    ("teams", {"MICROSOFT_APP_ID": "00000000-0000-0000-0000-000000000001"}, "MICROSOFT_APP_PASSWORD is not set"),
])
def test_a_missing_setting_stops_serve_at_once_naming_it(mode: str, env: dict[str, str], named: str,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in os.environ.keys() - BASE_ENV.keys():
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "never.db"
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["serve", f"--{mode}", "--db", f"sqlite:///{db}", "--config",
                                      str(EXAMPLE_CONFIG)])
    assert time.monotonic() - started < 1
    assert result.exit_code == 2 and result.output.startswith(f"error: serve --{mode} cannot start: {named}: ")
    assert not db.exists()  # the database was never touched


def test_an_invalid_config_stops_serve_before_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    bad = tmp_path / "tokenworth.yml"
    bad.write_text("teams:\n  - name: a\n    digest: {day: 0}\n")
    db = tmp_path / "never.db"
    result = CliRunner().invoke(cli, ["serve", "--db", f"sqlite:///{db}", "--config", str(bad)])
    assert result.exit_code == 2 and "teams[0].digest.day" in result.output
    assert not db.exists()


@pytest.fixture
def webhooks_only(tmp_path: Path) -> Iterator[str]:
    """`serve --http` with a GitHub webhook secret and no Slack: its log once it listens."""
    log = tmp_path / "serve.log"
    env = {**BASE_ENV, "GITHUB_WEBHOOK_SECRET": "s", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", "from bot.cli import main; main()", "serve", "--http", "--host", "127.0.0.1",
               "--port", "0", "--db", f"sqlite:///{tmp_path / 'w.db'}", "--config", str(EXAMPLE_CONFIG)]
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while "listening on" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            time.sleep(0.1)
        yield log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_serve_logs_only_the_routes_it_serves_and_each_job_once(webhooks_only: str) -> None:
    [listening] = [line for line in webhooks_only.splitlines() if "listening on" in line]
    assert "/slack/events" not in listening and "/webhooks/github" in listening and "/healthz" in listening
    jobs = re.findall(r"scheduled (\S+): next run (\d{4}-\d\d-\d\d \d\d:\d\d UTC)", webhooks_only)
    ids = [job for job, _ in jobs]
    assert len(ids) == len(set(ids)) and {"pull:daily", "purge:daily"} <= set(ids)  # each job once
    assert not [job for job in ids if job.startswith(("digest:", "retry:"))]  # no poster: no digest job


@pytest.fixture
def health(engine: Engine, db_url: str) -> Iterator[str]:
    runtime = Runtime(Settings(), db_url, str(EXAMPLE_CONFIG))
    server = http_server(runtime, None, "127.0.0.1", 0)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}/healthz"
    server.close()


def test_healthz_reports_the_database_ingest_age_and_pending_digests(health: str, engine: Engine) -> None:
    empty = httpx.get(health, timeout=10)
    assert empty.status_code == 200
    assert empty.json() == {"ok": True, "status": "ok", "database": {
        "ok": True, "ingest": {"last_at": None, "age_hours": None}, "digests_pending": 0}}
    ingest_paths(engine, [FIXTURES / "github_pulls.json"])
    ledger.claim(engine, "platform", "2026-W47", "slack")
    body = httpx.get(health, timeout=10).json()
    assert body["database"]["ingest"]["age_hours"] == 0.0 and body["database"]["digests_pending"] == 1


def test_healthz_is_503_degraded_when_the_database_does_not_answer() -> None:
    runtime = Runtime(Settings(), "postgresql+psycopg://tw:pw@127.0.0.1:1/tw", str(EXAMPLE_CONFIG))
    server = http_server(runtime, None, "127.0.0.1", 0)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        reply = httpx.get(f"http://127.0.0.1:{server.effective_port}/healthz", timeout=10)
    finally:
        server.close()
    assert reply.status_code == 503
    assert reply.json() == {"ok": False, "status": "degraded",
                            "database": {"ok": False, "error": "the database does not answer (OperationalError)"}}
