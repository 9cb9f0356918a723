"""LiteLLM proxy spend logs: one row per request, paged by page number up to total_pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from bot.config.settings import Settings
from bot.ingest.pull.base import Page, PullWindow, SubFeed, Target, Vendor, has, json_of, midnight, secret
from bot.ingest.pull.http import PullError, Sleep, VendorClient

PATHS = ("/spend/logs/v2", "/spend/logs/ui")  # v2 in newer proxies; /ui in older ones
PAGE_SIZE = 100
STAMP = "%Y-%m-%d %H:%M:%S"


def client(settings: Settings, sleep: Sleep) -> VendorClient:
    key = secret(settings, "litellm_api_key", "from LiteLLM")
    base = secret(settings, "litellm_api_url", "from LiteLLM")
    return VendorClient(base, headers={"Authorization": f"Bearer {key}"}, secrets=(key,), sleep=sleep)


def spend_log_pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
    params = {"start_date": midnight(window.since).strftime(STAMP),
              "end_date": (midnight(window.until) - timedelta(seconds=1)).strftime(STAMP),
              "page_size": PAGE_SIZE}
    path, page = PATHS[0], 1
    while True:
        response = client.get(path, {**params, "page": page}, missing_ok=page == 1 and path == PATHS[0])
        if response is None:
            path = PATHS[1]
            continue
        document = json_of(response, f"{path} page {page}")
        yield Page(response.content, f"spend logs page {page}")
        total = document.get("total_pages") if isinstance(document, dict) else None
        if not isinstance(total, int) or page >= total:
            return
        page += 1
        if page > 100_000:
            raise PullError(f"{path}: more than 100000 pages")


VENDOR = Vendor(
    name="litellm",
    feeds=(SubFeed("spend", "litellm", spend_log_pages),),
    client=client,
    configured=lambda s: has(s, "litellm_api_key", "litellm_api_url"),
)
