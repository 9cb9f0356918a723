"""Jira Cloud search (`/rest/api/3/search/jql` pages): resolved issues as closed tickets.

An issue counts when its status is in the done category, it has a resolution date, and its
resolution is not one that means "nothing was done" (Won't Do, Duplicate, ...).
Each also yields its work details (WorkRow): issue type, labels, story points (None when nobody estimated it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.config.org import JiraConfig, OrgConfig
from bot.core.weeks import to_utc
from bot.errors import FeedError
from bot.ingest.feeds.base import (
    BAD_RECORD,
    BaseFeed,
    IdentityRef,
    OutcomeRow,
    Record,
    Rejection,
    WorkRow,
    as_json,
    load_json,
    reason,
)

SOURCE = "jira"
# The defaults of the config's `jira` section: a feed parses files without seeing the config.
EXCLUDED_RESOLUTIONS = JiraConfig().excluded_resolutions
STORY_POINTS_FIELD = JiraConfig().story_points_field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Named(_Model):
    name: str = ""


class _Category(_Model):
    key: str = ""


class _Status(_Model):
    statusCategory: _Category = _Category()


class _Assignee(_Model):
    accountId: str | None = Field(default=None, min_length=1)
    emailAddress: str | None = Field(default=None, min_length=1)


class _Fields(_Model):
    summary: str | None = None
    status: _Status = _Status()
    resolution: _Named | None = None
    resolutiondate: datetime | None = None
    assignee: _Assignee | None = None
    issuetype: _Named | None = None
    labels: list[str] = []


class _Issue(_Model):
    key: str = Field(min_length=1)
    fields: _Fields


class JiraSearchFeed(BaseFeed):
    name = SOURCE

    def __init__(self, settings: JiraConfig | None = None):
        self.settings = settings or JiraConfig()

    def configured(self, config: OrgConfig) -> JiraSearchFeed:
        """The same feed with the org's excluded resolutions and story-points field."""
        return JiraSearchFeed(config.jira)

    def sniff(self, head: str) -> bool:
        return '"issues"' in head and '"fields"' in head and ('"isLast"' in head or '"statusCategory"' in head)

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from jira_outcomes(load_json(path), self.settings.excluded_resolutions, self.settings.story_points_field)


def jira_outcomes(
    document: Any,
    excluded: Collection[str] = EXCLUDED_RESOLUTIONS,
    points_field: str = STORY_POINTS_FIELD,
) -> Iterator[Record | Rejection]:
    """Closed tickets from one search page; `excluded` and `points_field` come from the config's `jira` section."""
    issues = document.get("issues") if isinstance(document, dict) else None
    if not isinstance(issues, list):
        raise FeedError("expected a Jira search page with an issues list")
    skipped = {name.casefold() for name in excluded}
    for index, raw in enumerate(issues):
        where = f"issues[{index}]"
        try:
            issue = _Issue.model_validate(raw)
            rows = _outcomes(issue, raw["fields"].get(points_field), points_field, skipped)
        except BAD_RECORD as exc:
            yield Rejection(where, reason(exc))
            continue
        yield Record(where, rows)


def _points(value: Any, field: str) -> float:
    """Story points; an issue nobody estimated still counts as one ticket's worth."""
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"fields.{field}: story points must be a non-negative number (got {value!r:.60})")
    return float(value)


def _outcomes(
    issue: _Issue, raw_points: Any, points_field: str, excluded: set[str],
) -> tuple[OutcomeRow | WorkRow, ...]:
    fields = issue.fields
    if fields.status.statusCategory.key != "done" or fields.resolutiondate is None:
        return ()
    if fields.resolution is not None and fields.resolution.name.casefold() in excluded:
        return ()
    if fields.assignee is None:
        return ()  # unassigned: nobody to credit
    key, who, done = f"jira:{issue.key}", _identity(fields.assignee), to_utc(fields.resolutiondate)
    points = _points(raw_points, points_field)
    return (
        OutcomeRow(key=key, source=SOURCE, kind="ticket_closed", identity=who, occurred_at=done, quantity=points,
                   title=fields.summary),
        WorkRow(source=SOURCE, key=key, identity=who, finished_at=done, ref=issue.key, title=fields.summary,
                labels=as_json(fields.labels), issue_type=fields.issuetype.name or None if fields.issuetype else None,
                points=None if raw_points is None else points, closed_at=done),
    )


def _identity(assignee: _Assignee) -> IdentityRef:
    # emailAddress is omitted when the user's privacy settings hide it; accountId is always there.
    if assignee.accountId:
        return IdentityRef.of("jira", assignee.accountId)
    if assignee.emailAddress:
        return IdentityRef.of("email", assignee.emailAddress)
    raise ValueError("fields.assignee: has neither accountId nor emailAddress")


FEED = JiraSearchFeed()
