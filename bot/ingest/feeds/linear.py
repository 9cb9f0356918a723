"""Linear GraphQL `issues` pages: completed issues as closed tickets, worth their estimate.

Each also yields its work details (WorkRow): labels, the estimate (None when unestimated), when work
started (`startedAt`) and the branch Linear names for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat

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

SOURCE = "linear"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _State(_Model):
    type: str  # an open set: triage, backlog, unstarted, started, completed, canceled, duplicate, ...


class _Assignee(_Model):
    id: str | None = Field(default=None, min_length=1)
    email: str | None = Field(default=None, min_length=1)


class _Label(_Model):
    name: str


class _Labels(_Model):
    nodes: list[_Label] = []


class _Issue(_Model):
    identifier: str = Field(min_length=1)
    title: str | None = None
    estimate: NonNegativeFloat | None = None
    startedAt: datetime | None = None
    completedAt: datetime | None = None
    branchName: str | None = None
    labels: _Labels = _Labels()
    assignee: _Assignee | None = None
    state: _State


class LinearIssuesFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"issues"' in head and '"nodes"' in head and '"identifier"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from linear_outcomes(load_json(path))


def linear_outcomes(document: Any) -> Iterator[Record | Rejection]:
    nodes = _nodes(document)
    for index, raw in enumerate(nodes):
        where = f"data.issues.nodes[{index}]"
        try:
            rows = _outcomes(_Issue.model_validate(raw))
        except BAD_RECORD as exc:
            yield Rejection(where, reason(exc))
            continue
        yield Record(where, rows)


def _nodes(document: Any) -> list[Any]:
    if isinstance(document, dict) and document.get("errors") and not document.get("data"):
        raise FeedError(f"a GraphQL error response, not issues: {str(document['errors'])[:200]}")
    try:
        nodes = document["data"]["issues"]["nodes"]
    except (KeyError, TypeError):
        nodes = None
    if not isinstance(nodes, list):
        raise FeedError('expected a Linear response {"data": {"issues": {"nodes": [...]}}}')
    return nodes


def _outcomes(issue: _Issue) -> tuple[OutcomeRow | WorkRow, ...]:
    if issue.state.type != "completed" or issue.assignee is None:
        return ()  # canceled, duplicate or still open; or nobody to credit
    if issue.completedAt is None:
        raise ValueError("completedAt: a completed issue needs a completion time")
    key, who, done = f"linear:{issue.identifier}", _identity(issue.assignee), to_utc(issue.completedAt)
    return (
        OutcomeRow(key=key, source=SOURCE, kind="ticket_closed", identity=who, occurred_at=done,
                   quantity=1.0 if issue.estimate is None else issue.estimate, title=issue.title),
        WorkRow(source=SOURCE, key=key, identity=who, finished_at=done, ref=issue.identifier, title=issue.title,
                labels=as_json(label.name for label in issue.labels.nodes), points=issue.estimate,
                opened_at=to_utc(issue.startedAt) if issue.startedAt else None, closed_at=done,
                branch=issue.branchName or None),
    )


def _identity(assignee: _Assignee) -> IdentityRef:
    if assignee.id:
        return IdentityRef.of("linear", assignee.id)
    if assignee.email:
        return IdentityRef.of("email", assignee.email)
    raise ValueError("assignee: has neither id nor email")


FEED = LinearIssuesFeed()
