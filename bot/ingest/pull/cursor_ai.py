"""Cursor AI Code Tracking API (Enterprise): per-commit AI lines, paged by `page` until `totalCount` is read.

Same key and Basic auth as the Cursor Admin API; the daily job pulls it only when
CURSOR_AI_CODE_TRACKING is true, since teams without Enterprise get an error from it every day.
"""

from __future__ import annotations

from collections.abc import Iterator

from bot.ingest.pull import cursor
from bot.ingest.pull.base import Page, PullWindow, SubFeed, Target, Vendor, has, json_of, rfc3339
from bot.ingest.pull.http import PullError, VendorClient

COMMITS = "/analytics/ai-code/commits"
MAX_DAYS = 30
PAGE_SIZE = 1000  # the API's maximum
MAX_PAGES = 10_000


def commit_pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
    for chunk in window.chunks(MAX_DAYS):
        params = {"startDate": rfc3339(chunk.since), "endDate": rfc3339(chunk.until), "pageSize": PAGE_SIZE}
        for page in range(1, MAX_PAGES + 1):
            response = client.get(COMMITS, {**params, "page": page})
            assert response is not None
            document = json_of(response, f"{COMMITS} page {page}")
            yield Page(response.content, f"ai commits {chunk.since} page {page}")
            if not _more(document, page):
                break
        else:
            raise PullError(f"{COMMITS}: more than {MAX_PAGES} pages")


def _more(document: object, page: int) -> bool:
    if not isinstance(document, dict):
        return False
    items, total, size = document.get("items"), document.get("totalCount"), document.get("pageSize")
    if not isinstance(items, list) or not items or not isinstance(total, int):
        return False
    return page * (size if isinstance(size, int) and size > 0 else PAGE_SIZE) < total


VENDOR = Vendor(
    name="cursor-ai-code",
    feeds=(SubFeed("commits", "cursor_ai_commits", commit_pages),),
    client=cursor.client,
    configured=lambda s: has(s, "cursor_api_key") and s.cursor_ai_code_tracking,
)
