"""The production HTTP server (waitress, a WSGI server): Slack events, GitHub webhooks, OTLP metrics, health.

Invariants. Every route has a body cap (BODY_CAPS, else DEFAULT_BODY_CAP), enforced on the request
head (Content-Length) and while a chunked body arrives, so no byte over it is read. Every caller is
verified before its body is parsed: Slack's signature here, over the raw bytes, before Bolt sees
the request; GitHub's and the outcomes webhook's HMAC in bot.ingest.webhooks. A request must arrive whole within
`Limits.request_seconds` and a silent connection is closed after `Limits.idle_seconds`, so slow or
idle clients cannot hold the connections signed requests need. No request body is ever logged.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher
from waitress.utilities import RequestEntityTooLarge

from bot.ingest.otlp import MAX_BODY_BYTES as OTLP_CAP
from bot.ingest.otlp import OTLP_PATH, handle_otlp
from bot.ingest.webhooks import drain_spool, handle_github_webhook, handle_outcomes_webhook, spool_dir
from bot.reads.health import database_health
from bot.runtime import Runtime
from bot.slack.workers import AnswerPool

log = logging.getLogger("tokenworth.server")
StartResponse = Callable[..., Any]
SLACK_PATH, GITHUB_PATH, OUTCOMES_PATH = "/slack/events", "/webhooks/github", "/webhooks/outcomes"
# Slack's payloads are a few kB; GitHub caps deliveries at 25 MB, and a pull_request event is far smaller.
BODY_CAPS = {SLACK_PATH: 1024 * 1024, GITHUB_PATH: 5 * 1024 * 1024, OUTCOMES_PATH: 1024 * 1024, OTLP_PATH: OTLP_CAP}
DEFAULT_BODY_CAP = 1024  # no other route takes a body
SLACK_MAX_AGE = 5 * 60  # Slack's replay window
TIMESTAMP = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class Limits:
    """How many connections, for how long: a silent or dribbling client gives its slot up soon."""

    connections: int = 1000
    threads: int = 16
    request_seconds: int = 20  # from a request's first byte to its last
    idle_seconds: int = 30  # a connection with no request in progress
    cleanup_seconds: int = 2  # how often both are checked


def body_cap(path: str) -> int:
    return BODY_CAPS.get(path, DEFAULT_BODY_CAP)


class _CappedParser(HTTPRequestParser):  # type: ignore[misc]
    """waitress's parser, with the route's cap applied as soon as the head is known, and a start time."""

    error: Any = None

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.time()

    def received(self, data: bytes) -> int:
        consumed: int = super().received(data)
        if self.headers_finished and self.error is None and not self.empty:
            cap = body_cap(self.path)
            if max(self.content_length, self.body_bytes_received) > cap:
                self.error = RequestEntityTooLarge(f"a request to this path may carry at most {cap} bytes")
                self.completed, self.expect_continue = True, False
        return consumed


class _Channel(HTTPChannel):  # type: ignore[misc]
    parser_class = _CappedParser


class _Server(TcpWSGIServer):  # type: ignore[misc]
    channel_class = _Channel
    request_seconds = Limits.request_seconds

    def maintenance(self, now: float) -> None:
        """Close silent connections (waitress's own rule), and those whose request is still arriving too late."""
        super().maintenance(now)
        late = now - self.request_seconds
        for channel in list(self.active_channels.values()):
            if not channel.requests and channel.request is not None and channel.request.started < late:
                channel.will_close = True


class Router:
    """A tiny WSGI router: three routes do not need a framework."""

    def __init__(self, runtime: Runtime, slack_app: App | None, workers: AnswerPool | None = None):
        self.runtime = runtime
        self.slack = SlackRequestHandler(slack_app, path=SLACK_PATH) if slack_app else None
        secret = runtime.settings.slack_signing_secret
        self.slack_secret = secret.get_secret_value().encode() if secret else b""
        self.workers = workers
        self.spool = spool_dir(runtime.db_url, runtime.settings.webhook_spool_dir)
        self._draining = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method == "GET":
            return self._health(start_response)
        if path == SLACK_PATH and method == "POST" and self.slack is not None:
            return self._slack(environ, start_response)
        if path == GITHUB_PATH and method == "POST":
            return self._github(environ, start_response)
        if path == OUTCOMES_PATH and method == "POST":
            return self._outcomes(environ, start_response)
        if path == OTLP_PATH and method == "POST":
            return self._otlp(environ, start_response)
        return _reply(start_response, 404, {"ok": False, "error": "not found"})

    def _health(self, start_response: StartResponse) -> list[bytes]:
        """200 with the data's state while the database and the answer workers work; 503 (degraded) when not."""
        database = database_health(lambda: self.runtime.engine)
        workers = self.workers.health() if self.workers is not None else None
        ok = bool(database["ok"]) and (workers is None or workers.ok)
        body = {"ok": ok, "status": "ok" if ok else "degraded", "database": database}
        return _reply(start_response, 200 if ok else 503, body | ({"workers": asdict(workers)} if workers else {}))

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _body(environ, SLACK_PATH)
        if body is None:
            return _reply(start_response, 413, {"ok": False, "error": "payload too large"})
        refused = slack_refusal(self.slack_secret, environ, body, time.time())
        if refused is not None:
            return _reply(start_response, refused[0], {"ok": False, "error": refused[1]})
        assert self.slack is not None
        environ["wsgi.input"] = io.BytesIO(body)
        return self.slack(environ, start_response)

    def _github(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _body(environ, GITHUB_PATH)
        if body is None:
            return _reply(start_response, 413, {"ok": False, "error": "payload too large"})
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        secret = self.runtime.settings.github_webhook_secret
        result = handle_github_webhook(self.runtime.engine, secret.get_secret_value().encode() if secret else b"",
                                       headers, body, spool=self.spool)
        if result.status == 200:
            self.drain_in_background()  # the database takes writes again: store what waited in the spool
        return _reply(start_response, result.status, {"ok": result.status < 300, "message": result.message})

    def _otlp(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """OTLP/HTTP metrics: the bearer token is checked in bot.ingest.otlp before the body is read."""
        token = self.runtime.settings.otlp_token
        headers = {k[5:].replace("_", "-"): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        headers["content-type"] = str(environ.get("CONTENT_TYPE", ""))
        reply = handle_otlp(self.runtime.engine, token.get_secret_value() if token else None, headers,
                            lambda: _body(environ, OTLP_PATH))
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}",
                       [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))])
        return [reply.body]

    def _outcomes(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """Workflow outcomes: the HMAC is checked in bot.ingest.webhooks before the body is parsed."""
        body = _body(environ, OUTCOMES_PATH)
        if body is None:
            return _reply(start_response, 413, {"ok": False, "error": "payload too large"})
        headers = {k[5:].replace("_", "-"): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
        secret = self.runtime.settings.outcomes_webhook_secret
        result = handle_outcomes_webhook(self.runtime.engine, secret.get_secret_value().encode() if secret else b"",
                                         headers, body)
        return _reply(start_response, result.status, {"ok": result.status < 300, "message": result.message})

    def drain_in_background(self) -> None:
        if any(self.spool.glob("*.json")) and self._draining.acquire(blocking=False):
            threading.Thread(target=self._drain, name="tokenworth-webhook-drain", daemon=True).start()

    def _drain(self) -> None:
        try:
            drain_spool(self.runtime.engine, self.spool)
        except Exception as exc:  # noqa: BLE001 - the deliveries stay spooled; the next round tries again
            log.warning("could not drain the webhook spool %s yet: %s", self.spool, type(exc).__name__)
        finally:
            self._draining.release()


def slack_refusal(secret: bytes, environ: dict[str, Any], body: bytes, now: float) -> tuple[int, str] | None:
    """Why a request to /slack/events is refused (status, reason), or None when Slack signed it.

    Checked on the raw bytes before anything is decoded or parsed, and never logged. Not slack_sdk's
    SignatureVerifier: it raises on a non-numeric timestamp and on a non-UTF-8 body (the 500s this replaced).
    """
    if not secret:
        return 503, "signing secret not configured; refusing unverifiable requests"
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""))
    given = str(environ.get("HTTP_X_SLACK_SIGNATURE", "")).encode("utf-8", "replace")
    if not TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > SLACK_MAX_AGE:
        return 401, "invalid request"
    mac = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(f"v0={mac}".encode(), given):
        return 401, "invalid request"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "the body is not UTF-8"
    return None


def _body(environ: dict[str, Any], path: str) -> bytes | None:
    """The request body, or None when it is over the route's cap (then nothing of it is read here)."""
    length = str(environ.get("CONTENT_LENGTH") or "0")
    if not length.isascii() or not length.isdigit() or int(length) > body_cap(path):
        return None
    body: bytes = environ["wsgi.input"].read(int(length))
    return body


def _reply(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def http_server(runtime: Runtime, slack_app: App | None, host: str = "0.0.0.0", port: int = 3000,
                workers: AnswerPool | None = None, limits: Limits | None = None) -> Any:
    """A waitress server (not yet serving): `.run()` blocks, `.close()` stops; `.effective_port` is the port,
    `.router` the Router."""
    limits = limits or Limits()
    adj = Adjustments(
        host=host, port=port, ident="tokenworth", threads=limits.threads, connection_limit=limits.connections,
        channel_timeout=limits.idle_seconds, cleanup_interval=limits.cleanup_seconds,
        max_request_body_size=max(BODY_CAPS.values()) + 1,
        asyncore_use_poll=True,  # select() cannot watch more than 1024 sockets
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    router = Router(runtime, slack_app, workers)
    server = _Server(router, map={}, dispatcher=dispatcher, adj=adj, sockinfo=adj.listen[0])
    server.request_seconds, server.router = limits.request_seconds, router
    return server

