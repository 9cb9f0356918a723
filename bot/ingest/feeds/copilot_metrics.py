"""GitHub Copilot legacy org metrics (`GET /orgs/{org}/copilot/metrics`, closed down 2026-04-02).

An array of days with org totals only, no per-user data: kept as org-level activity so old exports load.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, NonNegativeInt

from bot.errors import FeedError
from bot.ingest.feeds.base import (
    BAD_RECORD,
    ActivityRow,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    load_json,
    reason,
)

SOURCE = "copilot_metrics"
ORG = IdentityRef.of("github_org", "org")


class _Day(BaseModel):
    model_config = ConfigDict(extra="ignore")
    date: date
    total_active_users: NonNegativeInt = 0
    total_engaged_users: NonNegativeInt = 0


class CopilotLegacyMetricsFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return head.lstrip().startswith("[") and '"total_active_users"' in head and '"total_engaged_users"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        days = load_json(path)
        if not isinstance(days, list):
            raise FeedError(f"{path}: expected the legacy Copilot metrics array of days")
        for index, raw in enumerate(days):
            try:
                day = _Day.model_validate(raw)
            except BAD_RECORD as exc:
                yield Rejection(f"[{index}]", reason(exc))
                continue
            key = day.date.isoformat()
            yield Record(f"[{index}]", (
                ActivityRow(SOURCE, key, ORG, day.date, "active_users", day.total_active_users),
                ActivityRow(SOURCE, key, ORG, day.date, "engaged_users", day.total_engaged_users),
            ))


FEED = CopilotLegacyMetricsFeed()
