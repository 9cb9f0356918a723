"""The one HTTP client every puller uses: retries with injected sleep, errors without secrets.

429 (and GitHub's 403 rate limit, which carries Retry-After) waits as the vendor asks; 5xx,
dropped connections and timeouts back off 1, 2, 4, ... seconds (capped); any other 4xx fails at
once with the vendor's own message. Secrets and signed query strings never reach an error text.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.errors import TokenworthError

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Params = Mapping[str, Any] | list[tuple[str, Any]] | None


class PullError(TokenworthError):
    """A vendor API could not be read: a rejected request, or retries exhausted."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    first_wait: float = 1.0
    max_wait: float = 60.0
    max_retry_after: float = 600.0  # a vendor asking for longer than this is treated as an outage

    def backoff(self, attempt: int) -> float:
        return float(min(self.max_wait, self.first_wait * 2 ** (attempt - 1)))


@dataclass
class VendorClient:
    """An httpx client bound to one vendor: base URL, auth headers, retry policy, and sleep."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None
    secrets: tuple[str, ...] = ()
    sleep: Sleep = time.sleep
    policy: RetryPolicy = RetryPolicy()
    timeout: float = 30.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._client = httpx.Client(timeout=self.timeout, headers={"User-Agent": "tokenworth-pull"})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, params: Params = None, *, missing_ok: bool = False) -> httpx.Response | None:
        return self.request("GET", path, params=params, missing_ok=missing_ok)

    def post(self, path: str, body: Any) -> httpx.Response:
        response = self.request("POST", path, json_body=body)
        assert response is not None
        return response

    def download(self, url: str) -> httpx.Response:
        """A signed link on another host: fetched without our credentials."""
        response = self._send("GET", url, params=None, json_body=None, authenticated=False, missing_ok=False)
        assert response is not None
        return response

    def same_origin(self, url: str) -> bool:
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)

    def request(self, method: str, path: str, params: Params = None, json_body: Any = None,
                *, missing_ok: bool = False) -> httpx.Response | None:
        return self._send(method, self.url(path), params, json_body, authenticated=True, missing_ok=missing_ok)

    def _send(self, method: str, url: str, params: Params, json_body: Any, *,
              authenticated: bool, missing_ok: bool) -> httpx.Response | None:
        where = f"{method} {_shown(url)}"
        for attempt in range(1, self.policy.attempts + 1):
            try:
                response = self._client.request(
                    method, url, params=params, json=json_body,
                    headers=dict(self.headers) if authenticated else None,
                    auth=self.auth if authenticated and self.auth else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {self._redact(str(exc)) or 'connection failed'}"
                self._wait_or_fail(where, attempt, problem, self.policy.backoff(attempt))
                continue
            if response.is_success:
                return response
            if missing_ok and response.status_code == 404:
                return None
            wait = self._retry_wait(response, attempt)
            if wait is None:
                raise PullError(f"{where}: HTTP {response.status_code}: {self._vendor_message(response)}")
            self._wait_or_fail(where, attempt, f"HTTP {response.status_code}", wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop either returns or raises

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float | None:
        status = response.status_code
        asked = _retry_after(response.headers.get("retry-after"))
        if status == 429 or (status == 403 and asked is not None):
            return asked if asked is not None else self.policy.backoff(attempt)
        if status >= 500:  # a 503 may say when to come back; otherwise back off
            return asked if asked is not None else self.policy.backoff(attempt)
        return None

    def _wait_or_fail(self, where: str, attempt: int, problem: str, wait: float) -> None:
        if attempt >= self.policy.attempts:
            raise PullError(f"{where}: gave up after {attempt} attempts ({problem})")
        if wait > self.policy.max_retry_after:
            raise PullError(f"{where}: {problem}, and the vendor asks to wait {wait:.0f} s; try again later")
        log.warning("%s: %s; retrying in %.0f s (attempt %d of %d)", where, problem, wait, attempt,
                    self.policy.attempts)
        self.sleep(wait)

    def _vendor_message(self, response: httpx.Response) -> str:
        try:
            message = _message_in(response.json())
        except (json.JSONDecodeError, UnicodeDecodeError):
            message = response.text.strip()
        return self._redact(message[:300]) or response.reason_phrase

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def _message_in(document: Any) -> str:
    """The human message in the error shapes vendors use: {error:{message}}, {message}, {detail}, {error:"..."}."""
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        for key in ("message", "detail", "error"):
            if isinstance(document.get(key), str):
                return str(document[key])
    return json.dumps(document)[:300]


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _shown(url: str) -> str:
    """A URL without its query string, which may hold a signature."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def next_link(link_header: str | None) -> str | None:
    """The rel="next" target of an RFC 8288 Link header, as GitHub sends it."""
    for part in _split_links(link_header or ""):
        target, _, rest = part.partition(";")
        if any(p.strip().replace(" ", "") in ('rel="next"', "rel=next") for p in rest.split(";")):
            return target.strip().strip("<>")
    return None


def _split_links(header: str) -> Iterable[str]:
    return (part for part in header.split(",") if part.strip())
