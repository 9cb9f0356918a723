"""A local fake of the Bot Framework Connector (the Teams side of a bot): a real HTTP server on loopback.

The Agents SDK's own connector client talks to it because conversation references carry its URL as
`serviceUrl`. It records every request, answers the few operations tokenworth uses, and a test can
queue an HTTP status to fail the next request with.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorization: str | None


class FakeConnector:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.members: dict[str, dict[str, Any]] = {}  # member id -> profile (email, userPrincipalName, ...)
        self.faults: deque[int] = deque()
        self._lock = threading.Lock()
        self._ids = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/teams/"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def activities(self, conversation_id: str | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(conversation id, activity) of every message POSTed, optionally to one conversation."""
        found = []
        for request in self.requests:
            parts = request.path.split("/")
            if request.method == "POST" and "activities" in parts[-2:]:
                conversation = parts[parts.index("conversations") + 1].split(";")[0]  # a thread: its channel
                if conversation_id is None or conversation == conversation_id:
                    found.append((conversation, request.body))
        return found

    def created(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.method == "POST" and r.path.endswith("/v3/conversations")]

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids}"

    def _answer(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if self.faults:
            return self.faults.popleft(), {"error": {"code": "ServiceError", "message": "injected"}}
        parts = path.split("?")[0].strip("/").split("/")
        if method == "POST" and "activities" in parts[-2:]:  # a new message, or a reply to one
            return 201, {"id": self._next_id("1700000000")}
        if method == "POST" and parts[-1] == "conversations":
            return 201, {"id": self._next_id("a:dm-")}
        if method == "GET" and len(parts) >= 2 and parts[-2] == "members":
            member = self.members.get(parts[-1])
            return (200, {"id": parts[-1], **member}) if member else (404, {"error": {"code": "MemberNotFound"}})
        return 404, {"error": {"code": "NotFound"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _serve(self) -> None:
                from urllib.parse import unquote

                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                path = unquote(self.path.split("?")[0])
                with fake._lock:
                    fake.requests.append(Request(self.command, path, body, self.headers.get("Authorization")))
                status, answer = fake._answer(self.command, path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler
