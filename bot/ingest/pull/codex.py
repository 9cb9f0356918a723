"""OpenAI Codex Analytics (ChatGPT Enterprise): a workspace's per-user daily usage, paged by `next_page`.

The key is a Platform API key with the `codex.enterprise.analytics.read` scope (issued through OpenAI
support) for the organization the workspace belongs to. Data lags 1 to 5 days, so a resume re-pulls the
last 5 days. The paging parameter (`page` = the previous page's `next_page`) is as third-party clients of
the API's OpenAPI document use it; the official reference could not be checked (bot.ingest.feeds.codex_usage).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from bot.config.settings import Settings
from bot.ingest.pull.base import Page, PullWindow, SubFeed, Target, Vendor, cursor_pages, has, midnight, secret
from bot.ingest.pull.http import Sleep, VendorClient

PAGE_LIMIT = 500


def client(settings: Settings, sleep: Sleep) -> VendorClient:
    """Bound to the workspace: its paths are relative to `/analytics/codex/workspaces/{id}`."""
    key = secret(settings, "openai_codex_key", "Codex analytics from OpenAI")
    workspace = quote(secret(settings, "codex_workspace_id", "Codex analytics from OpenAI"), safe="")
    return VendorClient(f"{settings.chatgpt_api_url}/analytics/codex/workspaces/{workspace}",
                        headers={"Authorization": f"Bearer {key}"}, secrets=(key,), sleep=sleep)


def usage_pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
    params: list[tuple[str, Any]] = [("start_time", int(midnight(window.since).timestamp())),
                                     ("end_time", int(midnight(window.until).timestamp())), ("limit", PAGE_LIMIT)]
    yield from cursor_pages(client, "usage", params, "codex usage")


VENDOR = Vendor(
    name="codex",
    feeds=(SubFeed("usage", "codex_usage", usage_pages),),
    client=client,
    configured=lambda s: has(s, "openai_codex_key", "codex_workspace_id"),
    trailing_days=5,
)
