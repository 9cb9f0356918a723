"""What a vendor puller is: sub-feeds that turn a date window into pages of the vendor's own bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import SecretStr

from bot.config.settings import Settings
from bot.errors import SettingsError
from bot.ingest.pull.http import PullError, Sleep, VendorClient


@dataclass(frozen=True)
class PullWindow:
    """UTC days from `since` (inclusive) to `until` (exclusive)."""

    since: date
    until: date

    def days(self) -> Iterator[date]:
        day = self.since
        while day < self.until:
            yield day
            day += timedelta(days=1)

    def chunks(self, max_days: int) -> Iterator[PullWindow]:
        start = self.since
        while start < self.until:
            end = min(self.until, start + timedelta(days=max_days))
            yield PullWindow(start, end)
            start = end


@dataclass(frozen=True)
class Page:
    """One response body exactly as the vendor sent it, ready to be written to a file and ingested."""

    content: bytes
    label: str
    suffix: str = ".json"


@dataclass(frozen=True)
class Target:
    """What a pull is about beyond the window: GitHub's org and repository, and the day it runs."""

    org: str | None = None
    repo: str | None = None
    today: date | None = None  # the day a snapshot (Copilot seats) is taken


Pages = Callable[[VendorClient, PullWindow, Target], Iterator[Page]]


@dataclass(frozen=True)
class SubFeed:
    name: str  # as picked on the command line: `anthropic:usage`
    source: str  # the ingest source, and the ledger's
    pages: Pages


@dataclass(frozen=True)
class Vendor:
    name: str
    feeds: tuple[SubFeed, ...]
    client: Callable[[Settings, Sleep], VendorClient]  # raises SettingsError naming a missing variable
    configured: Callable[[Settings], bool]
    trailing_days: int = 3  # recent buckets a vendor may still restate: pulled again on resume


def secret(settings: Settings, field: str, needed_for: str) -> str:
    value = getattr(settings, field)
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not text:
        raise SettingsError(f"{field.upper()} is not set; it is needed to pull {needed_for}")
    return str(text)


def has(settings: Settings, *fields: str) -> bool:
    return all(secret_or_none(getattr(settings, f)) for f in fields)


def secret_or_none(value: SecretStr | str | None) -> str | None:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def json_of(response: Any, where: str) -> Any:
    """The parsed body, or a PullError saying the vendor sent something that is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise PullError(f"{where}: the response is not JSON") from None


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def rfc3339(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def cursor_pages(client: VendorClient, path: str, params: list[tuple[str, Any]], label: str) -> Iterator[Page]:
    """Anthropic's and OpenAI's paging: follow `next_page` while `has_more`."""
    cursor: str | None = None
    seen: set[str] = set()
    number = 1
    while True:
        response = client.get(path, params + ([("page", cursor)] if cursor else []))
        assert response is not None
        document = json_of(response, f"{path} page {number}")
        yield Page(response.content, f"{label} page {number}")
        cursor = document.get("next_page") if isinstance(document, dict) and document.get("has_more") else None
        if not cursor:
            return
        if cursor in seen:
            raise PullError(f"{path}: the vendor returned the page cursor {cursor!r} twice")
        seen.add(cursor)
        number += 1
