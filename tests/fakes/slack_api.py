"""A local fake of the Slack Web API: a real HTTP server on a free loopback port.

The real `slack_sdk.WebClient` talks to it through `base_url` (SLACK_API_URL). It records every
call, and a test can queue faults per method: an HTTP status with headers (429 + Retry-After,
500), a Slack error (`not_in_channel`), or a dropped connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "xoxb-test-token"


@dataclass
class Fault:
    status: int = 200
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    token: str | None
    at: float


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.uploads: dict[str, bytes] = {}
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_url
        self.users = {"ana@acme.test": "U0ANA", "ben@acme.test": "U0BEN", "cara@acme.test": "U0CARA",
                      "dev@acme.test": "U0DEV", "eli@acme.test": "U0ELI", "fay@acme.test": "U0FAY"}
        self.channels = {"#platform-leads": "C0PLATFORM", "C0123ABCDEF": "C0123ABCDEF"}
        self.not_member: set[str] = set()
        # Granted scopes, sent as x-oauth-scopes on every answer as Slack does: the manifest's and the read ones.
        self.scopes = ["commands", "chat:write", "files:write", "im:write", "users:read", "users:read.email",
                       "channels:read", "groups:read"]
        self._lock = threading.Lock()
        self._ids = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> FakeSlack:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, *, times: int = 1, status: int = 200, error: str | None = None,
             retry_after: int | None = None, drop: bool = False) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        for _ in range(times):
            self.faults[method].append(Fault(status, error, headers, drop))

    def called(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def add_user(self, email: str, user_id: str) -> None:
        self.users[email] = user_id

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._ids += 1
            return f"{prefix}{self._ids:06d}"

    # --- the API ---------------------------------------------------------------------------
    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        result: dict[str, Any] = handler(params)
        return result

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://acme.slack.test/", "team": "Acme", "user": "tokenworth",
                "team_id": "T0ACME", "user_id": "U0BOT", "bot_id": "B0BOT"}

    def _channel(self, name: str | None) -> str | None:
        if not name:
            return None
        return self.channels.get(name) or (name if name.startswith(("C", "D", "G")) else None)

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(params.get("channel"))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.not_member:
            return {"ok": False, "error": "not_in_channel"}
        ts = f"{time.time():.6f}"
        return {"ok": True, "channel": channel, "ts": ts,
                "message": {"text": params.get("text"), "blocks": params.get("blocks"), "ts": ts}}

    def _chat_getPermalink(self, params: dict[str, Any]) -> dict[str, Any]:
        message = str(params.get("message_ts")).replace(".", "")
        return {"ok": True, "channel": params.get("channel"),
                "permalink": f"https://acme.slack.test/archives/{params.get('channel')}/p{message}"}

    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = self._next_id("F")
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files")
        files = json.loads(files) if isinstance(files, str) else files or []
        missing = [f["id"] for f in files if f["id"] not in self.uploads]
        if missing:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = str(params.get("users", ""))
        return {"ok": True, "channel": {"id": "D" + users.lstrip("U")}}

    def _users_lookupByEmail(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email", "")).lower()
        user_id = self.users.get(email)
        if user_id is None:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user_id, "profile": {"email": email}}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = params.get("user")
        email = next((e for e, u in self.users.items() if u == user), None)
        if email is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": {"id": user, "profile": {"email": email}}}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": self._next_id("V")}}

    def _users_conversations(self, params: dict[str, Any]) -> dict[str, Any]:
        """The channels the bot is in (every known channel but those in not_member), one page; needs channels:read."""
        if "channels:read" not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": "channels:read"}
        members = {cid: name for name, cid in self.channels.items() if cid not in self.not_member}
        return {"ok": True, "channels": [{"id": cid, "name": name.lstrip("#").lower(), "is_member": True}
                                         for cid, name in members.items()],
                "response_metadata": {"next_cursor": ""}}

    def _handler(fake) -> type[BaseHTTPRequestHandler]:  # noqa: N805 - the closure's owner
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = urlparse(self.path).path
                if path.startswith("/upload/"):
                    fake.uploads[path.rsplit("/", 1)[1]] = body
                    return self._send(200, b"OK - " + str(len(body)).encode(), "text/plain")
                if path.startswith("/respond/"):
                    with fake._lock:
                        fake.responses.append({"path": path, **json.loads(body or b"{}")})
                    return self._send(200, b"ok", "text/plain")
                method = path.removeprefix("/api/")
                params = self._params(body)
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ") or params.get("token")
                with fake._lock:
                    fake.calls.append(Call(method, params, token, time.time()))
                    fault = fake.faults[method].popleft() if fake.faults[method] else None
                if fault and fault.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault and fault.status != 200:
                    return self._send(fault.status, json.dumps({"ok": False, "error": "ratelimited"}).encode(),
                                      headers=fault.headers)
                if fault and fault.error:
                    return self._json({"ok": False, "error": fault.error})
                if token != TOKEN:
                    return self._json({"ok": False, "error": "invalid_auth"})
                self._json(fake.answer(method, params))

            def _params(self, body: bytes) -> dict[str, Any]:
                if (self.headers.get("Content-Type") or "").startswith("application/json"):
                    return dict(json.loads(body or b"{}"))
                query = parse_qs(body.decode(), keep_blank_values=True)
                params: dict[str, Any] = {k: v[0] for k, v in query.items()}
                for key in ("blocks", "files", "view"):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
                return params

            def _json(self, payload: dict[str, Any]) -> None:
                self._send(200, json.dumps(payload).encode(), headers={"x-oauth-scopes": ",".join(fake.scopes)})

            def _send(self, status: int, body: bytes, content_type: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler
