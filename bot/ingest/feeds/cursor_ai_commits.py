"""Cursor AI Code Tracking API (Enterprise, alpha): `GET /analytics/ai-code/commits` page, one item per commit.

Each commit becomes per-commit activity of its author (Cursor's `userEmail`, identity kind `cursor`) on
the UTC day of `commitTs`, keyed `<sha>@<repo>`, so a pull request finds its commits by SHA
(bot.ingest.commit_ai): `ai_lines_tab` (tabLinesAdded), `ai_lines_composer` (composerLinesAdded) and
`lines_non_ai` (nonAiLinesAdded; when null, totalLinesAdded less the AI lines, as Cursor computes it).
Only added lines count toward the AI share; deletions are not stored. A commit Cursor lists again (on
another branch) replaces its figures: it is one commit. Strict about what it relies on: `commitHash`,
`userEmail` and `commitTs` (a commit without a time has no day). Uncertain, see
tests/fixtures/cursor_ai_commits.notes.md: the API is alpha; `repoName` is taken to be GitHub's
`owner/name`; the branch is not kept (a SHA names the commit wherever it sits).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt

from bot.core.weeks import to_utc
from bot.ingest.feeds.base import (
    ActivityRow,
    BaseFeed,
    IdentityRef,
    Record,
    Rejection,
    listed_records,
)

SOURCE = "cursor_ai_commits"
TAB, COMPOSER, NON_AI = "ai_lines_tab", "ai_lines_composer", "lines_non_ai"


class _Commit(BaseModel):
    model_config = ConfigDict(extra="ignore")
    commitHash: str = Field(min_length=7, pattern=r"^[0-9a-fA-F]+$")
    userEmail: str = Field(min_length=3)
    repoName: str | None = None
    commitTs: datetime
    totalLinesAdded: NonNegativeInt
    tabLinesAdded: NonNegativeInt = 0
    composerLinesAdded: NonNegativeInt = 0
    nonAiLinesAdded: NonNegativeInt | None = None


class CursorAiCommitsFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"commitHash"' in head and '"composerLinesAdded"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        return listed_records(path, "items", "a Cursor AI Code Tracking commits page",
                              lambda raw: _rows(_Commit.model_validate(raw)))


def commit_key(sha: str, repo: str | None) -> str:
    return f"{sha.lower()}@{(repo or '').lower()}"


def _rows(commit: _Commit) -> tuple[ActivityRow, ...]:
    if commit.commitTs.tzinfo is None:
        raise ValueError(f"commitTs: expected a UTC timestamp (got {commit.commitTs.isoformat()})")
    ai = commit.tabLinesAdded + commit.composerLinesAdded
    non_ai = commit.nonAiLinesAdded if commit.nonAiLinesAdded is not None else max(0, commit.totalLinesAdded - ai)
    identity = IdentityRef.of("cursor", commit.userEmail)
    day, key = to_utc(commit.commitTs).date(), commit_key(commit.commitHash, commit.repoName)
    values: dict[str, Any] = {TAB: commit.tabLinesAdded, COMPOSER: commit.composerLinesAdded, NON_AI: non_ai}
    return tuple(ActivityRow(SOURCE, key, identity, day, metric, float(value)) for metric, value in values.items())


FEED = CursorAiCommitsFeed()
