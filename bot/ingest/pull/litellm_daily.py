"""LiteLLM proxy daily aggregates (`GET /user/daily/activity`): the pages of each chunk of days, merged into one.

Invariant: what is ingested is one complete response per chunk of at most MAX_DAYS days (every page's results,
metadata saying one page), so the feed may restate each day it lists: the proxy pages its daily rows, not its
days, and a day may straddle two pages. A day of the chunk the proxy lists no activity on is added empty, so a
re-pull of it removes what was stored. A chunk is held in memory whole, so chunks stay short.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from bot.ingest.pull.base import Page, PullWindow, SubFeed, Target, json_of
from bot.ingest.pull.http import PullError, VendorClient

PATH = "/user/daily/activity"
PAGE_SIZE = 1000
MAX_DAYS = 7
MAX_PAGES = 10_000


def daily_activity_pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
    for chunk in window.chunks(MAX_DAYS):
        last = chunk.until - timedelta(days=1)  # the proxy's end_date is inclusive
        params = {"start_date": chunk.since.isoformat(), "end_date": last.isoformat(), "page_size": PAGE_SIZE}
        results, pages = _results(client, params)
        listed = {item.get("date") for item in results if isinstance(item, dict)}
        results += [{"date": d.isoformat(), "breakdown": {}} for d in chunk.days() if d.isoformat() not in listed]
        merged = {"results": results, "metadata": {"page": 1, "total_pages": 1, "has_more": False}}
        yield Page(json.dumps(merged).encode(), f"daily activity {chunk.since} {pages} pages")


def _results(client: VendorClient, params: dict[str, Any]) -> tuple[list[Any], int]:
    results: list[Any] = []
    page = 1
    while True:
        response = client.get(PATH, {**params, "page": page})
        assert response is not None
        document = json_of(response, f"{PATH} page {page}")
        if not isinstance(document, dict) or not isinstance(document.get("results"), list):
            raise PullError(f"{PATH} page {page}: expected a response with a results list")
        results += document["results"]
        metadata = document.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        total = metadata.get("total_pages")
        if not (metadata.get("has_more") or (isinstance(total, int) and page < total)):
            return results, page
        page += 1
        if page > MAX_PAGES:
            raise PullError(f"{PATH}: more than {MAX_PAGES} pages")


FEED = SubFeed("daily", "litellm_daily", daily_activity_pages)
