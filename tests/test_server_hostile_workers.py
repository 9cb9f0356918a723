"""A dead answer worker: replaced, the question asked again, and /healthz tells the truth about the pool."""

from __future__ import annotations

import os
import signal
import threading
import time

import httpx

from bot.runtime import Runtime
from bot.serve.run import slack_app
from bot.slack.http import http_server
from bot.slack.workers import AnswerPool, worker_pool
from tests.fakes.slack_api import FakeSlack
from tests.test_slack_commands import WEEK, command_body, runtime, signed_headers, slack, wait_reply  # noqa: F401


def kill_a_worker(pool: AnswerPool) -> None:
    os.kill(pool.call(os.getpid), signal.SIGKILL)
    time.sleep(0.2)


def test_a_dead_worker_is_replaced_and_commands_keep_answering(runtime: Runtime, slack: FakeSlack) -> None:  # noqa: F811
    with worker_pool(runtime, size=1) as pool:
        http = http_server(runtime, slack_app(runtime, require_signing_secret=True, workers=pool), "127.0.0.1", 0,
                           workers=pool)
        threading.Thread(target=http.run, daemon=True).start()
        url = f"http://127.0.0.1:{http.effective_port}"
        try:
            kill_a_worker(pool)
            body = command_body(slack, f"me {WEEK}", hook="after-death")
            response = httpx.post(f"{url}/slack/events", content=body, headers=signed_headers(body), timeout=5)
            assert response.status_code == 200
            assert "Cara Chen · week 2026-W47" in wait_reply(slack, "after-death", 30)["text"]
            ready = httpx.get(f"{url}/healthz").json()
            assert ready == {"ok": True, "status": "ok", "database": {**ready["database"], "ok": True},
                             "workers": {"ok": True, "state": "ready", "size": 1, "restarts": 1}}

            kill_a_worker(pool)  # /healthz finds the broken pool, replaces it, and says so
            health = httpx.get(f"{url}/healthz", timeout=30)
            assert health.status_code == 200 and health.json()["workers"]["restarts"] == 2

            pool.shutdown()
            stopped = httpx.get(f"{url}/healthz", timeout=5)
            assert stopped.status_code == 503
            assert stopped.json() == {"ok": False, "status": "degraded", "database": ready["database"],
                                      "workers": {"ok": False, "state": "stopped", "size": 1, "restarts": 2}}
        finally:
            http.close()
