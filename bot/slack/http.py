"""The production HTTP server (waitress, a WSGI server): Slack events, GitHub webhooks, health.

Every entry point verifies its caller before anything is parsed: Bolt checks Slack's signature
and its 5-minute window, bot.ingest.webhooks checks GitHub's HMAC.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from bot.ingest.webhooks import handle_github_webhook
from bot.runtime import Runtime

log = logging.getLogger("tokenworth.server")
MAX_BODY = 10 * 1024 * 1024
StartResponse = Callable[..., Any]


class Router:
    """A tiny WSGI router: three routes do not need a framework."""

    def __init__(self, runtime: Runtime, slack_app: App | None):
        self.runtime = runtime
        self.slack = SlackRequestHandler(slack_app, path="/slack/events") if slack_app else None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method == "GET":
            return _reply(start_response, 200, {"ok": True})
        if path == "/slack/events" and method == "POST" and self.slack is not None:
            return self.slack(environ, start_response)
        if path == "/webhooks/github" and method == "POST":
            return self._github(environ, start_response)
        return _reply(start_response, 404, {"ok": False, "error": "not found"})

    def _github(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            return _reply(start_response, 413, {"ok": False, "error": "payload too large"})
        body = environ["wsgi.input"].read(length)
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        secret = self.runtime.settings.github_webhook_secret
        result = handle_github_webhook(self.runtime.engine, secret.get_secret_value().encode() if secret else b"",
                                       headers, body)
        return _reply(start_response, result.status, {"ok": result.status < 300, "message": result.message})


def _reply(start_response: StartResponse, status: int, payload: dict[str, Any]) -> list[bytes]:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
              413: "Payload Too Large", 503: "Service Unavailable"}.get(status, "Status")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def http_server(runtime: Runtime, slack_app: App | None, host: str = "0.0.0.0", port: int = 3000) -> Any:
    """A waitress server (not yet serving): `.run()` blocks, `.close()` stops; `.effective_port` is the port."""
    return create_server(Router(runtime, slack_app), host=host, port=port, threads=8, ident="tokenworth")
