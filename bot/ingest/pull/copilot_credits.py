"""GitHub Copilot AI-credit billing: one request per UTC day (the report names no day on its items)."""

from __future__ import annotations

from collections.abc import Iterator

from bot.errors import SettingsError
from bot.ingest.pull.base import Page, PullWindow, SubFeed, Target, Vendor, has
from bot.ingest.pull.github import copilot_client
from bot.ingest.pull.http import VendorClient


def credit_billing_pages(client: VendorClient, window: PullWindow, target: Target) -> Iterator[Page]:
    if not target.org:
        raise SettingsError("GITHUB_ORG is not set; it is needed to pull Copilot credit billing")
    path = f"/organizations/{target.org}/settings/billing/ai_credit/usage"
    for day in window.days():
        response = client.get(path, {"year": day.year, "month": day.month, "day": day.day})
        assert response is not None
        yield Page(response.content, f"copilot credits {day}")


VENDOR = Vendor(
    name="github-copilot-credits",
    feeds=(SubFeed("billing", "copilot_credit_billing", credit_billing_pages),),
    client=copilot_client,
    configured=lambda s: has(s, "github_token", "github_org"),
)
