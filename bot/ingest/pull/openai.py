"""OpenAI organization Usage (completions) and Costs APIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bot.config.settings import Settings
from bot.ingest.pull.base import Page, Pages, PullWindow, SubFeed, Target, Vendor, cursor_pages, has, midnight, secret
from bot.ingest.pull.http import Sleep, VendorClient

USAGE = "/organization/usage/completions"
COSTS = "/organization/costs"
USAGE_GROUPS = ("project_id", "user_id", "api_key_id", "model")
COST_GROUPS = ("line_item", "project_id")


def client(settings: Settings, sleep: Sleep) -> VendorClient:
    key = secret(settings, "openai_admin_key", "from OpenAI")
    headers = {"Authorization": f"Bearer {key}"}
    return VendorClient(settings.openai_api_url, headers=headers, secrets=(key,), sleep=sleep)


def _report(path: str, groups: tuple[str, ...], limit: int, label: str) -> Pages:
    def pages(client: VendorClient, window: PullWindow, _: Target) -> Iterator[Page]:
        params: list[tuple[str, Any]] = [
            ("start_time", int(midnight(window.since).timestamp())),
            ("end_time", int(midnight(window.until).timestamp())),
            ("bucket_width", "1d"), ("limit", limit), *(("group_by[]", g) for g in groups),
        ]
        yield from cursor_pages(client, path, params, label)

    return pages


VENDOR = Vendor(
    name="openai",
    feeds=(
        SubFeed("usage", "openai_usage", _report(USAGE, USAGE_GROUPS, 31, "completions usage")),
        SubFeed("costs", "openai_costs", _report(COSTS, COST_GROUPS, 180, "costs")),
    ),
    client=client,
    configured=lambda s: has(s, "openai_admin_key"),
)
