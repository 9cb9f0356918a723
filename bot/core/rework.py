"""Rework that sticks: which outcomes survived `rework.window_days`, and which were undone and how.

A merged PR is reworked when a revert of it, or a follow-up fix PR in the same repository touching one of its
files, merges within the window; a ticket when it leaves done again within the window. The rework is charged to
the original outcome's person. Only events at or before `as_of` count, so a verdict is a pure function of the
records and `as_of`, whatever their order; a survivor whose window is still open is provisional.
"""

from __future__ import annotations

import fnmatch
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.config.org import Points, ReworkRules, WorkKinds
from bot.core.judgement_facts import WorkItem
from bot.core.signals import copilot_acceptance as copilot_acceptance  # re-exported: it is activity, not rework
from bot.core.weeks import to_utc
from bot.core.work import is_fix

REVERTED, FIXED_AFTER, REOPENED = "reverted", "fixed_after", "reopened"
_Event = tuple[datetime, str]  # when a revert or fix PR merged, and its key


@dataclass(frozen=True)
class Verdict:
    key: str
    source: str
    person_id: int | None  # the original author or assignee: rework is charged to them
    finished_at: datetime
    settles_at: datetime  # finished_at + the window
    points: float  # outcome points it earns while it survives
    rework: str | None = None  # reverted, fixed_after or reopened
    undone_by: str | None = None  # the key of the revert or fix PR
    undone_at: datetime | None = None
    provisional: bool = False  # nothing undid it yet, but its window is still open

    @property
    def survives(self) -> bool:
        return self.rework is None


@dataclass(frozen=True)
class ReworkSummary:
    merged_prs: int = 0
    closed_tickets: int = 0
    reverted: int = 0
    fixed_after: int = 0
    reopened: int = 0
    surviving_prs: int = 0
    surviving_points: float = 0.0
    provisional: int = 0  # survivors still inside their window: the figures may yet change

    @property
    def outcomes(self) -> int:
        return self.merged_prs + self.closed_tickets

    @property
    def reworked(self) -> int:
        return self.reverted + self.fixed_after + self.reopened

    @property
    def rework_rate(self) -> float | None:
        return self.reworked / self.outcomes if self.outcomes else None


def verdicts(
    items: Iterable[WorkItem], rules: ReworkRules, kinds: WorkKinds, points: Points, as_of: datetime
) -> list[Verdict]:
    """A verdict for every outcome among `items` (merged non-revert PRs, done tickets), sorted by key.

    `items` should hold every PR merged up to `as_of`, reverts and fixes included, and the tickets PRs close.
    """
    known, as_of = list(items), to_utc(as_of)
    ignored = _ignore_rule(rules.ignore_files)
    files = {item.key: _files(item, ignored) for item in known if item.is_pr}
    undo = _Undo(_reverts(known, as_of), _fixes_by_file(known, files, kinds, as_of), files, as_of)
    window = timedelta(days=rules.window_days)
    found = [_verdict(item, undo, window, points) for item in known if item.is_outcome]
    return sorted(found, key=lambda v: v.key)


@dataclass(frozen=True)
class _Undo:
    """What may undo an outcome: reverts by the key they revert, fix PRs by file, each sorted by time."""

    reverts: Mapping[str, list[_Event]]
    fixes: Mapping[tuple[str, str], list[_Event]]
    files: Mapping[str, set[tuple[str, str]]]
    as_of: datetime


def _reverts(items: list[WorkItem], as_of: datetime) -> dict[str, list[_Event]]:
    found: dict[str, list[_Event]] = defaultdict(list)
    for item in items:
        if item.reverts and item.merged_at and item.merged_at <= as_of:
            found[item.reverts].append((item.merged_at, item.key))
    return {key: sorted(events) for key, events in found.items()}


def _fixes_by_file(
    items: list[WorkItem], files: Mapping[str, set[tuple[str, str]]], kinds: WorkKinds, as_of: datetime
) -> dict[tuple[str, str], list[_Event]]:
    tickets = {t.ref.strip().casefold(): t for t in items if not t.is_pr and t.ref}
    found: dict[tuple[str, str], list[_Event]] = defaultdict(list)
    for item in items:
        if item.is_pr and item.is_outcome and item.merged_at and item.merged_at <= as_of \
                and is_fix(item, tickets, kinds):
            for path in files[item.key]:
                found[path].append((item.merged_at, item.key))
    return {path: sorted(events) for path, events in found.items()}


def _ignore_rule(patterns: Iterable[str]) -> re.Pattern[str]:
    """One pattern for the ignored files, matched against a folded path and against its last part."""
    alternatives = [fnmatch.translate(p.casefold()) for p in patterns]
    return re.compile("|".join(f"(?:{a})" for a in alternatives) or r"(?!)")


def _files(item: WorkItem, ignored: re.Pattern[str]) -> set[tuple[str, str]]:
    repo = (item.repo or "").casefold()
    folded = (f.casefold() for f in item.files)
    return {(repo, f) for f in folded if not ignored.match(f) and not ignored.match(f.rsplit("/", 1)[-1])}


def _verdict(item: WorkItem, undo: _Undo, window: timedelta, points: Points) -> Verdict:
    finished = item.finished_at
    assert finished is not None  # outcomes are finished
    settles = finished + window
    inside = sorted(_undoing_events(item, undo, finished, min(settles, undo.as_of)))
    worth = points.pr_merged if item.is_pr else points.ticket_closed * (1.0 if item.points is None else item.points)
    base = Verdict(item.key, item.source, item.person_id, finished, settles, worth)
    if not inside:
        return replace(base, provisional=undo.as_of < settles)
    at, by, kind = inside[0]
    return replace(base, rework=kind, undone_by=by or None, undone_at=at)


def _undoing_events(item: WorkItem, undo: _Undo, after: datetime, until: datetime) -> list[tuple[datetime, str, str]]:
    """Every (when, by, how) that undid the item after it finished and by `until`."""
    if not item.is_pr:
        return [(at, "", REOPENED) for at in item.reopened_at if after < at <= until]
    found = [(at, key, REVERTED) for at, key in _between(undo.reverts.get(item.key, []), after, until)]
    for path in undo.files[item.key]:
        events = _between(undo.fixes.get(path, []), after, until)
        found.extend((at, key, FIXED_AFTER) for at, key in events if key != item.key)
    return found


def _between(events: list[_Event], after: datetime, until: datetime) -> list[_Event]:
    """The events of a time-sorted list in (after, until]."""
    return events[bisect_right(events, after, key=lambda e: e[0]):bisect_right(events, until, key=lambda e: e[0])]


def summarise(found: Iterable[Verdict]) -> ReworkSummary:
    """Counts over a set of verdicts (a team's, a week's): the rework line beside yield."""
    counts: dict[str, float] = defaultdict(float)
    for verdict in found:
        counts["merged_prs" if verdict.source == "pr" else "closed_tickets"] += 1
        if verdict.rework:
            counts[verdict.rework] += 1
            continue
        counts["surviving_prs"] += verdict.source == "pr"
        counts["surviving_points"] += verdict.points
        counts["provisional"] += verdict.provisional
    return ReworkSummary(
        merged_prs=int(counts["merged_prs"]), closed_tickets=int(counts["closed_tickets"]),
        reverted=int(counts[REVERTED]), fixed_after=int(counts[FIXED_AFTER]), reopened=int(counts[REOPENED]),
        surviving_prs=int(counts["surviving_prs"]), surviving_points=counts["surviving_points"],
        provisional=int(counts["provisional"]),
    )


def cost_per_accepted_change(spend_usd: float, summary: ReworkSummary) -> float | None:
    """Spend per merged PR that survived; none when no PR survived."""
    return spend_usd / summary.surviving_prs if summary.surviving_prs else None
