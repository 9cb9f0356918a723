"""The facts judging the work computes on: one finished outcome, one person's spend on one model on one day.

Plain frozen values filled by the read side; nothing here knows where they were stored. Times are UTC
(naive ones are taken as UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.core.weeks import to_utc

OutcomeSource = Literal["pr", "jira", "linear"]


@dataclass(frozen=True)
class WorkItem:
    """A pull request or a ticket, with what classing, rework and linking read from it.

    A PR with `reverts` set is a revert: it undoes the PR of that key and is no outcome itself.
    """

    key: str  # the stored outcome key: github:acme/api#12:merged, jira:ABC-1, linear:ENG-7
    source: OutcomeSource
    person_id: int | None  # the PR's author, the ticket's assignee
    ref: str = ""  # how people and usage records name it: acme/api#12, ABC-1, ENG-7
    title: str = ""
    labels: tuple[str, ...] = ()  # PR labels, Linear labels
    issue_type: str | None = None  # Jira issue type (Bug, Story, Task, ...)
    additions: int | None = None  # PR lines added; None when the feed did not say
    deletions: int | None = None
    files: tuple[str, ...] = ()  # PR file paths, relative to the repository
    repo: str | None = None  # owner/name of a PR
    points: float | None = None  # a ticket's story points or estimate; None when nobody estimated it
    opened_at: datetime | None = None  # PR created_at or first commit, the earlier; a ticket's move to in progress
    merged_at: datetime | None = None  # a PR's merge
    closed_at: datetime | None = None  # the first time a ticket was done
    reopened_at: tuple[datetime, ...] = ()  # the times a ticket left done again
    reverts: str | None = None  # for a revert PR: the key of the PR it reverts
    fixes: tuple[str, ...] = ()  # ticket refs a PR closes ("Fixes ABC-1", "Closes ENG-7")
    branch: str | None = None  # a PR's head branch
    commits: tuple[str, ...] = ()  # a PR's commit shas

    def __post_init__(self) -> None:
        # naive times (SQLite hands them back so) are UTC: comparing naive with aware would fail later
        for name in ("opened_at", "merged_at", "closed_at"):
            moment = getattr(self, name)
            if moment is not None:
                object.__setattr__(self, name, to_utc(moment))
        object.__setattr__(self, "reopened_at", tuple(to_utc(m) for m in self.reopened_at))

    @property
    def is_pr(self) -> bool:
        return self.source == "pr"

    @property
    def finished_at(self) -> datetime | None:
        """When it shipped: a PR's merge, a ticket's first done."""
        return self.merged_at if self.is_pr else self.closed_at

    @property
    def is_outcome(self) -> bool:
        """A merged PR that is no revert, or a done ticket: what earns points and takes spend."""
        return self.finished_at is not None and self.reverts is None

    @property
    def names(self) -> frozenset[str]:
        """Every name a usage record may give it directly, folded: its ref, key, branch, commits, tickets it fixes."""
        found = {self.key, self.ref, self.branch or "", *self.commits, *self.fixes}
        return frozenset(n.strip().casefold() for n in found if n and n.strip())


@dataclass(frozen=True)
class UsageDay:
    """A person's priced AI spend on one model on one UTC day, optionally naming the work it was for."""

    person_id: int
    day: date
    model: str
    tier: str  # frontier, standard, economy, or unknown for a model without a list price
    spend_usd: float
    link: str | None = None  # a ticket key, branch, commit or PR ref the usage record carried
