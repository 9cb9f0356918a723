"""Work classes: every outcome gets a kind and a size, each with the reason it was given.

A pure function of the outcome and the `work_classes:` rules: the same outcome always gets the same class.
Kind comes from the title's conventional-commit prefix, else the Jira issue type, else a label, else `other`;
size from lines changed for a PR and story points for a ticket, `unknown` when the feed gave neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.config.org import WorkClasses, WorkKind, WorkKinds, WorkSizes
from bot.core.judgement_facts import WorkItem

SIZES = ("trivial", "small", "medium", "large", "unknown")
_PREFIX = re.compile(r"^(?P<type>[a-z][a-z-]*)(?:\([^)]*\))?!?:|^\[(?P<bracketed>[a-z][a-z-]*)\]")
_HOTFIX = re.compile(r"^\W*hotfix\b")


@dataclass(frozen=True)
class WorkClass:
    kind: str
    size: str
    kind_reason: str  # "fix: title starts with 'fix(api):'"
    size_reason: str  # "small: 140 lines in 3 files"

    def label(self, group_by: str = "size") -> str:
        """The evidence table's name for the class: its size, or kind and size."""
        return self.size if group_by == "size" else f"{self.size} {self.kind}"


def classify(item: WorkItem, rules: WorkClasses) -> WorkClass:
    kind, kind_reason = kind_of(item, rules.kinds)
    size, size_reason = size_of(item, kind, rules.sizes)
    return WorkClass(kind, size, kind_reason, size_reason)


def kind_of(item: WorkItem, rules: WorkKinds) -> tuple[str, str]:
    by_title = title_kind(item.title, rules)
    if by_title:
        return by_title
    issue_type = (item.issue_type or "").strip()
    kind = rules.issue_types.get(issue_type.casefold())
    if kind and kind != "other":
        return kind, f"{kind}: Jira issue type {issue_type!r}"
    by_label = label_kind(item.labels, rules.labels)
    if by_label:
        return by_label
    return "other", "other: no title prefix, issue type or label matched"


def title_kind(title: str, rules: WorkKinds) -> tuple[WorkKind, str] | None:
    folded = title.strip().casefold()
    match = _PREFIX.match(folded)
    if match:
        kind = rules.title_prefixes.get(match["type"] or match["bracketed"])
        if kind and kind != "other":
            return kind, f"{kind}: title starts with {title.strip()[:match.end()]!r}"
    hotfix = rules.title_prefixes.get("hotfix", "fix")
    if _HOTFIX.match(folded) and hotfix != "other":
        return hotfix, f"{hotfix}: title starts with 'hotfix'"
    bump = next((p for p in rules.dependency_titles if folded.startswith(p)), None)
    if bump:
        return "chore", f"chore: a dependency bump (title starts with {bump.strip()!r})"
    return None


def label_kind(labels: Iterable[str], rules: Mapping[str, WorkKind]) -> tuple[WorkKind, str] | None:
    """The first label (in sorted order) the rules know, whole or after a `type:` or `kind/` prefix."""
    for label in sorted(labels):
        kind = _label_rule(label, rules)
        if kind:
            return kind, f"{kind}: label {label!r}"
    return None


def _label_rule(label: str, rules: Mapping[str, WorkKind]) -> WorkKind | None:
    folded = label.strip().casefold()
    tail = re.split(r"[:/]", folded)[-1].strip()
    kind = rules.get(folded) or rules.get(tail)
    return kind if kind != "other" else None


def size_of(item: WorkItem, kind: str, rules: WorkSizes) -> tuple[str, str]:
    if kind in rules.trivial_kinds:
        return "trivial", f"trivial: {kind}"
    return _pr_size(item, rules) if item.is_pr else _ticket_size(item, rules)


def _pr_size(item: WorkItem, rules: WorkSizes) -> tuple[str, str]:
    if item.additions is None or item.deletions is None:
        return "unknown", "unknown: the feed gave no line counts"
    lines = item.additions + item.deletions
    files = len(item.files)
    where = f"{lines:,} line{'s' * (lines != 1)}" + (f" in {files:,} file{'s' * (files != 1)}" if files else "")
    if lines <= rules.trivial_lines:
        return "trivial", f"trivial: {where}"
    if lines <= rules.small_lines:
        return "small", f"small: {where}"
    if lines > rules.large_lines:
        return "large", f"large: {where}"
    return "medium", f"medium: {where}"


def _ticket_size(item: WorkItem, rules: WorkSizes) -> tuple[str, str]:
    if item.points is None:
        return "unknown", "unknown: nobody estimated it"
    points = f"{item.points:g} point{'s' * (item.points != 1)}"
    if item.points <= rules.small_points:
        return "small", f"small: {points}"
    if item.points >= rules.large_points:
        return "large", f"large: {points}"
    return "medium", f"medium: {points}"


def is_fix(item: WorkItem, tickets: Mapping[str, WorkItem], rules: WorkKinds) -> bool:
    """A fix: a fix title prefix or `hotfix`, any label meaning fix (such as `bug`), or it closes a bug-type ticket.

    `tickets` maps a ticket's folded ref to the ticket.
    """
    by_title = title_kind(item.title, rules)
    if (by_title and by_title[0] == "fix") or any(_label_rule(label, rules.labels) == "fix" for label in item.labels):
        return True
    closed = (tickets.get(ref.strip().casefold()) for ref in item.fixes)
    return any(t is not None and kind_of(t, rules)[0] == "fix" for t in closed)
