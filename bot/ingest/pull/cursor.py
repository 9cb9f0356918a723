"""Cursor Admin API: daily usage per user, and the filtered usage events (tokens and cents per request)."""

from __future__ import annotations

from collections.abc import Iterator

from bot.config.settings import Settings
from bot.ingest.pull.base import Page, Pages, PullWindow, SubFeed, Target, Vendor, has, json_of, midnight, secret
from bot.ingest.pull.http import PullError, Sleep, VendorClient

DAILY = "/teams/daily-usage-data"
EVENTS = "/teams/filtered-usage-events"
MAX_DAYS = 30  # the API refuses longer ranges
PAGE_SIZE = 100


def client(settings: Settings, sleep: Sleep) -> VendorClient:
    key = secret(settings, "cursor_api_key", "from Cursor")
    return VendorClient(settings.cursor_api_url, auth=(key, ""), secrets=(key,), sleep=sleep)


def _paged(path: str, label: str) -> Pages:
    def pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
        for chunk in window.chunks(MAX_DAYS):
            start = int(midnight(chunk.since).timestamp() * 1000)
            end = int(midnight(chunk.until).timestamp() * 1000) - 1  # Cursor's periods end on the last millisecond
            yield from _numbered(client, path, {"startDate": start, "endDate": end}, f"{label} {chunk.since}")

    return pages


def _numbered(client: VendorClient, path: str, body: dict[str, int], label: str) -> Iterator[Page]:
    page = 1
    while True:
        response = client.post(path, {**body, "page": page, "pageSize": PAGE_SIZE})
        document = json_of(response, f"{path} page {page}")
        yield Page(response.content, f"{label} page {page}")
        pagination = document.get("pagination") if isinstance(document, dict) else None
        if not isinstance(pagination, dict) or not pagination.get("hasNextPage"):
            return
        page += 1
        if page > 10_000:
            raise PullError(f"{path}: still hasNextPage after 10000 pages")


VENDOR = Vendor(
    name="cursor",
    feeds=(
        SubFeed("daily", "cursor_daily", _paged(DAILY, "daily usage")),
        SubFeed("events", "cursor_events", _paged(EVENTS, "usage events")),
    ),
    client=client,
    configured=lambda s: has(s, "cursor_api_key"),
)
