"""Anthropic Admin API: the messages usage report, the cost report, and Claude Code analytics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.config.settings import Settings
from bot.ingest.pull.base import Page, Pages, PullWindow, SubFeed, Target, Vendor, cursor_pages, has, rfc3339, secret
from bot.ingest.pull.http import Sleep, VendorClient

USAGE = "/v1/organizations/usage_report/messages"
COST = "/v1/organizations/cost_report"
CLAUDE_CODE = "/v1/organizations/usage_report/claude_code"
USAGE_GROUPS = ("account_id", "api_key_id", "workspace_id", "model")
COST_GROUPS = ("description", "workspace_id")


def client(settings: Settings, sleep: Sleep) -> VendorClient:
    key = secret(settings, "anthropic_admin_key", "from Anthropic")
    return VendorClient(settings.anthropic_api_url, headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                        secrets=(key,), sleep=sleep)


def _report(path: str, groups: tuple[str, ...], label: str) -> Pages:
    def pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
        params = [("starting_at", rfc3339(window.since)), ("ending_at", rfc3339(window.until)),
                  ("bucket_width", "1d"), ("limit", 31), *(("group_by[]", g) for g in groups)]
        yield from cursor_pages(client, path, params, label)

    return pages


def claude_code_pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
    """The analytics endpoint answers for one day at a time."""
    for day in window.days():
        params: list[tuple[str, Any]] = [("starting_at", day.isoformat()), ("limit", 1000)]
        yield from cursor_pages(client, CLAUDE_CODE, params, f"claude_code {day}")


VENDOR = Vendor(
    name="anthropic",
    feeds=(
        SubFeed("usage", "anthropic_usage", _report(USAGE, USAGE_GROUPS, "usage report")),
        SubFeed("cost", "anthropic_cost", _report(COST, COST_GROUPS, "cost report")),
        SubFeed("claude-code", "claude_code", claude_code_pages),
    ),
    client=client,
    configured=lambda s: has(s, "anthropic_admin_key"),
)
