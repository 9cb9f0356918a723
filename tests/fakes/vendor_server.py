"""A local fake vendor API: routes answer with queued replies, every request is recorded.

Each route is (method, path, optional query match) -> a list of replies served in order; the last
one repeats, so `[Reply(500)]` is an outage that never ends. A reply can also drop the connection
without answering. Unmatched requests get a 404 with a JSON error, as the vendors send.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = b""  # bytes are sent as they are; anything else as JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without sending a response

    @classmethod
    def file(cls, path: Path, **kwargs: Any) -> Reply:
        return cls(body=path.read_bytes(), **kwargs)

    def encoded(self) -> bytes:
        return self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Route:
    method: str
    path: str
    match: dict[str, str]
    replies: list[Reply]
    served: int = 0

    def accepts(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        return (method, path) == (self.method, self.path) and all(
            query.get(k, [None])[0] == v for k, v in self.match.items()
        )

    def next(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


class VendorServer:
    def __init__(self) -> None:
        self.routes: list[_Route] = []
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def route(self, method: str, path: str, *replies: Reply, match: Mapping[str, str] | None = None) -> None:
        """Answer `method path` (and, when given, only queries with these parameters) with `replies` in order."""
        assert replies, "a route needs at least one reply"
        self.routes.insert(0, _Route(method, path, dict(match or {}), list(replies)))  # newest, most specific first
        self.routes.sort(key=lambda r: -len(r.match))

    def seen(self, path: str | None = None) -> list[Seen]:
        return [r for r in self.requests if path is None or r.path == path]

    def start(self) -> VendorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> VendorServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        with self._lock:
            self.requests.append(Seen(method, parts.path, query, headers, body))
            route = next((r for r in self.routes if r.accepts(method, parts.path, query)), None)
            if route is None:
                message = f"no route for {method} {parts.path}"
                return Reply(404, {"error": {"type": "not_found_error", "message": message}})
            return route.next()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = server._answer(self.command, self.path, headers, body)
                if reply.drop:
                    self.close_connection = True
                    return
                payload = reply.encoded()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _serve

            def log_message(self, *_: Any) -> None:  # keep test output quiet
                pass

        return Handler



def route_linked_pages(server: VendorServer, path: str, pages: list[Any], **query: str) -> None:
    """Serve `pages` at `path` as GitHub pages them: `page=N` asks for page N, and each page but the last carries
    a Link header with rel="next" (the first page answers a request without `page`)."""
    for number, body in enumerate(pages, 1):
        params = "&".join(f"{k}={v}" for k, v in {**query, "page": str(number + 1)}.items())
        link = {"Link": f'<{server.url}{path}?{params}>; rel="next"'} if number < len(pages) else {}
        server.route("GET", path, Reply(body=body, headers=link), match={"page": str(number)} if number > 1 else {})


def route_litellm_daily(server: VendorServer, pages: list[Any], **query: str) -> None:
    """Serve `pages` at LiteLLM's /user/daily/activity as the proxy pages it: `page=N` asks for page N (and a
    request without `page` gets the first); `query` narrows the route (start_date=…)."""
    for number, body in enumerate(pages, 1):
        match = {**query, "page": str(number)} if number > 1 else dict(query)
        server.route("GET", "/user/daily/activity", Reply(body=body), match=match)
