"""What a restated daily report covers, so that a restatement removes only the stale rows it speaks for.

Invariant: a stored row of a report's day is removed only when the report covers it. A usage report
(Anthropic, OpenAI) may be grouped and filtered (one account, one project, a few keys) and says nothing
of what it left out, so it covers a row when the row is grouped as one of the report's rows (the same
dimensions, bot.ingest.feeds.base.key_dimensions) and the report lists the row's value of each `who`
dimension (Window.who: account, API key, workspace, project, user). A report that lists no row at all
names no grouping to limit itself to: it is the vendor saying those days were empty, and covers them whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.ingest.feeds.base import Window, key_dimensions


@dataclass
class Coverage:
    who: frozenset[str] = frozenset()
    groupings: set[frozenset[str]] = field(default_factory=set)
    values: dict[str, set[str]] = field(default_factory=dict)  # who dimension -> the values the report lists

    def add(self, key: str) -> None:
        dimensions = key_dimensions(key)
        self.groupings.add(frozenset(dimensions))
        for name in self.who.intersection(dimensions):
            self.values.setdefault(name, set()).add(dimensions[name])

    def covers(self, key: str) -> bool:
        if not self.groupings:
            return True
        dimensions = key_dimensions(key)
        return frozenset(dimensions) in self.groupings and all(
            dimensions[name] in self.values.get(name, ()) for name in self.who.intersection(dimensions))


def coverages(windows: Mapping[Window, set[str]]) -> dict[str, Coverage]:
    """Per source, what the windows of one ingest cover together (a filter applies to the whole report)."""
    found: dict[str, Coverage] = {}
    for window, keys in windows.items():
        coverage = found.setdefault(window.source, Coverage(frozenset(window.who)))
        for key in keys:
            coverage.add(key)
    return found
