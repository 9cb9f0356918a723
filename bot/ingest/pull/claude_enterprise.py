"""Claude Enterprise Analytics API: per-user usage (`user_usage_report`) and the org's cost report.

A call covers at most 31 days and reaches back at most 365 days (and never before 2026-01-01), so a
window is walked in 31-day steps from the earliest day the API still answers for; an earlier start is
moved up, with a warning. A grouped cost bucket lists only its top 100 groups with no remainder row: a
bucket that lists 100 is logged as possibly incomplete (its lines are still ingested). The per-user report
is asked by day, model and product, which the usage feed relies on; it is paged by `next_page`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from bot.config.settings import Settings
from bot.ingest.feeds.claude_enterprise_cost import GROUP_CAP, capped_buckets
from bot.ingest.pull.base import (
    Page,
    Pages,
    PullWindow,
    SubFeed,
    Target,
    Vendor,
    cursor_pages,
    has,
    rfc3339,
    secret,
)
from bot.ingest.pull.http import Sleep, VendorClient

log = logging.getLogger(__name__)
BASE = "/v1/organizations/analytics"
USER_USAGE, COST = f"{BASE}/user_usage_report", f"{BASE}/cost_report"
MAX_DAYS, MAX_BACK_DAYS = 31, 365
FIRST_DAY = date(2026, 1, 1)  # the API holds nothing earlier
PAGE_LIMIT = 1000


def client(settings: Settings, sleep: Sleep) -> VendorClient:
    key = secret(settings, "anthropic_analytics_key", "from the Claude Enterprise Analytics API")
    return VendorClient(settings.anthropic_api_url, headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                        secrets=(key,), sleep=sleep)


def reachable(window: PullWindow, today: date) -> PullWindow | None:
    """The part of the window the API answers for, or None when none of it is."""
    earliest = max(FIRST_DAY, today - timedelta(days=MAX_BACK_DAYS - 1))
    if window.since < earliest:
        log.warning("Claude Enterprise analytics reach back to %s only; %s..%s is not available",
                    earliest, window.since, earliest)
    since = max(window.since, earliest)
    return PullWindow(since, window.until) if since < window.until else None


def _windows(window: PullWindow, target: Target) -> Iterator[PullWindow]:
    part = reachable(window, target.today or window.until)
    if part is not None:
        yield from part.chunks(MAX_DAYS)


def _params(chunk: PullWindow, groups: tuple[str, ...]) -> list[tuple[str, Any]]:
    return [("beta", "true"), ("starting_at", rfc3339(chunk.since)), ("ending_at", rfc3339(chunk.until)),
            ("bucket_width", "1d"), ("limit", PAGE_LIMIT), *(("group_by[]", g) for g in groups)]


def user_usage_pages(client: VendorClient, window: PullWindow, target: Target) -> Iterator[Page]:
    for chunk in _windows(window, target):
        yield from cursor_pages(client, USER_USAGE, _params(chunk, ("model", "product")), f"user usage {chunk.since}")


def _cost(groups: tuple[str, ...]) -> Pages:
    def pages(client: VendorClient, window: PullWindow, target: Target) -> Iterator[Page]:
        for chunk in _windows(window, target):
            for page in cursor_pages(client, COST, _params(chunk, groups), f"cost report {chunk.since}"):
                _warn_if_capped(page)
                yield page

    return pages


def _warn_if_capped(page: Page) -> None:
    try:
        document = json.loads(page.content)
    except (ValueError, RecursionError):
        return  # the cost feed refuses the page itself, with the reason
    for starting_at in capped_buckets(document):
        log.warning("%s: the bucket starting %s lists %d groups, the API's cap: groups beyond it are missing",
                    page.label, starting_at, GROUP_CAP)


VENDOR = Vendor(
    name="claude-enterprise",
    feeds=(
        SubFeed("usage", "claude_enterprise", user_usage_pages),
        SubFeed("cost", "claude_enterprise_cost", _cost(("product", "model"))),
    ),
    client=client,
    configured=lambda s: has(s, "anthropic_analytics_key"),
)
