"""Linear GraphQL `issues` pages: completed issues as closed tickets, worth their estimate.

Each also yields its work details (WorkRow): labels, the estimate (None when unestimated), when work
started (`startedAt`, else the first move to a `started` state in its history) and the branch Linear names for it.

Linear gives `startedAt` and `completedAt` (the latest completion) on the issue, and, when the query asks for
`history { nodes { createdAt fromState { type } toState { type } } }`, each state change. From that history:
when it was first completed (else `completedAt`), and every move from `completed` back to a triage, backlog,
unstarted or started state: a reopening. An issue reopened and not completed again still yields its work
details, so its rework is seen; only a completed one earns points.
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
COMPLETED = "completed"
BACK = frozenset({"triage", "backlog", "unstarted", "started"})  # a move there from completed is a reopening


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


class _StateType(_Model):
    type: str = ""


class _Change(_Model):
    createdAt: datetime
    fromState: _StateType | None = None
    toState: _StateType | None = None


class _History(_Model):
    nodes: list[_Change] = []


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
    history: _History = _History()


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
    if issue.assignee is None:
        return ()  # nobody to credit
    who, moves = _identity(issue.assignee), sorted(issue.history.nodes, key=lambda change: to_utc(change.createdAt))
    first = next((to_utc(c.createdAt) for c in moves if _type(c.toState) == COMPLETED), None)
    reopened = [to_utc(c.createdAt) for c in moves if _type(c.fromState) == COMPLETED and _type(c.toState) in BACK]
    if issue.state.type != COMPLETED:  # canceled, duplicate, open; when reopened, only its work details
        return (_work(issue, who, moves, first, reopened),) if first is not None and reopened else ()
    if issue.completedAt is None:
        raise ValueError("completedAt: a completed issue needs a completion time")
    done = to_utc(issue.completedAt)
    return (
        OutcomeRow(key=f"linear:{issue.identifier}", source=SOURCE, kind="ticket_closed", identity=who,
                   occurred_at=done, quantity=1.0 if issue.estimate is None else issue.estimate, title=issue.title),
        _work(issue, who, moves, first or done, reopened),
    )


def _work(issue: _Issue, who: IdentityRef, moves: list[_Change], first_done: datetime,
          reopened: list[datetime]) -> WorkRow:
    began = next((to_utc(c.createdAt) for c in moves if _type(c.toState) == "started"), None)
    return WorkRow(
        source=SOURCE, key=f"linear:{issue.identifier}", identity=who, finished_at=first_done,
        ref=issue.identifier, title=issue.title, labels=as_json(label.name for label in issue.labels.nodes),
        points=issue.estimate, opened_at=to_utc(issue.startedAt) if issue.startedAt else began,
        closed_at=first_done, branch=issue.branchName or None,
        reopened_at=as_json(t.isoformat() for t in reopened if t > first_done),
    )


def _type(state: _StateType | None) -> str | None:
    return state.type if state is not None else None


def _identity(assignee: _Assignee) -> IdentityRef:
    if assignee.id:
        return IdentityRef.of("linear", assignee.id)
    if assignee.email:
        return IdentityRef.of("email", assignee.email)
    raise ValueError("assignee: has neither id nor email")


FEED = LinearIssuesFeed()
