"""Jira Cloud search (`/rest/api/3/search/jql` pages): resolved issues as closed tickets.

An issue counts when its status is in the done category, it has a resolution date, and its
resolution is not one that means "nothing was done" (Won't Do, Duplicate, ...).
Each also yields its work details (WorkRow): issue type, labels, story points (None when nobody estimated it),
and, from the changelog (search with `expand=changelog`), when work started (the first move to a status in the
in-progress category, else `created`), when it was first done (else `resolutiondate`), and every time it left
done again (its resolution cleared, or its status moved out of the done category). An issue no longer done but
once done and then reopened still yields its work details, so its rework is seen; only a done one earns points.

A changelog names statuses, not their categories: a status is categorised by the issues on the same page whose
current status has that name, else by its usual name (STATUS_CATEGORIES). A search gives only an issue's newest
changes (Jira says 100; fewer are reported): a cut-off changelog may miss the earliest moves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
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
NEW, IN_PROGRESS, DONE = "new", "indeterminate", "done"  # Jira's status category keys
STATUS_CATEGORIES = {
    **dict.fromkeys(("to do", "open", "backlog", "selected for development", "reopened"), NEW),
    **dict.fromkeys(("in progress", "in review", "in development", "code review", "review", "in qa", "qa",
                     "testing", "in test"), IN_PROGRESS),
    **dict.fromkeys(("done", "closed", "resolved"), DONE),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Named(_Model):
    name: str = ""


class _Category(_Model):
    key: str = ""


class _Status(_Model):
    name: str = ""
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
    created: datetime | None = None


class _Change(_Model):
    field: str = ""
    fromString: str | None = None
    toString: str | None = None


class _History(_Model):
    created: datetime
    items: list[_Change] = []


class _Changelog(_Model):
    histories: list[_History] = []


class _Issue(_Model):
    key: str = Field(min_length=1)
    fields: _Fields
    changelog: _Changelog | None = None


@dataclass(frozen=True)
class _Times:
    """What the changelog tells: work started, first done, and every time it left done again (UTC)."""

    started: datetime | None = None
    done: datetime | None = None
    reopened: tuple[datetime, ...] = ()


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
    categories = {**STATUS_CATEGORIES, **_page_categories(issues)}
    for index, raw in enumerate(issues):
        where = f"issues[{index}]"
        try:
            issue = _Issue.model_validate(raw)
            rows = _outcomes(issue, raw["fields"].get(points_field), points_field, skipped, categories)
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
    issue: _Issue, raw_points: Any, points_field: str, excluded: set[str], categories: Mapping[str, str],
) -> tuple[OutcomeRow | WorkRow, ...]:
    fields = issue.fields
    if fields.assignee is None:
        return ()  # unassigned: nobody to credit
    if fields.resolution is not None and fields.resolution.name.casefold() in excluded:
        return ()
    who, times = _identity(fields.assignee), _times(issue.changelog, categories)
    if fields.status.statusCategory.key != DONE or fields.resolutiondate is None:
        if times.done is None or not times.reopened:
            return ()
        return (_work(issue, who, times, times.done, raw_points, points_field),)  # reopened: its rework counts
    key, done = f"jira:{issue.key}", to_utc(fields.resolutiondate)
    return (
        OutcomeRow(key=key, source=SOURCE, kind="ticket_closed", identity=who, occurred_at=done,
                   quantity=_points(raw_points, points_field), title=fields.summary),
        _work(issue, who, times, times.done or done, raw_points, points_field),
    )


def _work(
    issue: _Issue, who: IdentityRef, times: _Times, first_done: datetime, raw_points: Any, field: str,
) -> WorkRow:
    fields = issue.fields
    started = times.started or (to_utc(fields.created) if fields.created else None)
    return WorkRow(
        source=SOURCE, key=f"jira:{issue.key}", identity=who, finished_at=first_done, ref=issue.key,
        title=fields.summary, labels=as_json(fields.labels),
        issue_type=fields.issuetype.name or None if fields.issuetype else None,
        points=None if raw_points is None else _points(raw_points, field), opened_at=started, closed_at=first_done,
        reopened_at=as_json(t.isoformat() for t in times.reopened if t > first_done),
    )


def _page_categories(issues: list[Any]) -> dict[str, str]:
    """Status name (folded) -> category, from the current status of every issue on the page."""
    found: dict[str, str] = {}
    for raw in issues:
        try:
            status = _Status.model_validate(raw["fields"]["status"])
        except (*BAD_RECORD, KeyError, TypeError):
            continue  # the issue itself is rejected, with its reason, when it is read
        if status.name and status.statusCategory.key:
            found[status.name.casefold()] = status.statusCategory.key
    return found


def _times(changelog: _Changelog | None, categories: Mapping[str, str]) -> _Times:
    started = done = None
    reopened: set[datetime] = set()
    for history in sorted(changelog.histories if changelog else [], key=lambda h: to_utc(h.created)):
        at = to_utc(history.created)
        for change in history.items:
            moved_in, moved_out = _done_moves(change, categories)
            if started is None and change.field == "status" and _category(change.toString, categories) == IN_PROGRESS:
                started = at
            if moved_in and done is None:
                done = at
            if moved_out and done is not None:
                reopened.add(at)
    return _Times(started, done, tuple(sorted(reopened)))


def _done_moves(change: _Change, categories: Mapping[str, str]) -> tuple[bool, bool]:
    """(became done, left done): a status moved into or out of the done category, a resolution set or cleared."""
    if change.field == "resolution":
        return change.toString is not None and change.fromString is None, \
            change.toString is None and change.fromString is not None
    if change.field != "status":
        return False, False
    before, after = _category(change.fromString, categories), _category(change.toString, categories)
    return after == DONE and before != DONE, before == DONE and after not in (DONE, None)


def _category(name: str | None, categories: Mapping[str, str]) -> str | None:
    return categories.get(name.strip().casefold()) if name else None


def _identity(assignee: _Assignee) -> IdentityRef:
    # emailAddress is omitted when the user's privacy settings hide it; accountId is always there.
    if assignee.accountId:
        return IdentityRef.of("jira", assignee.accountId)
    if assignee.emailAddress:
        return IdentityRef.of("email", assignee.emailAddress)
    raise ValueError("fields.assignee: has neither accountId nor emailAddress")


FEED = JiraSearchFeed()
