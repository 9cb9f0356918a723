"""A pull request's AI share, from the commits Cursor's AI Code Tracking reported, found by commit SHA.

A PR's commits are the SHAs GitHub lists for it (`GET /repos/{o}/{r}/pulls/{n}/commits`) and its merge
commit (`merge_commit_sha`, the squash or merge commit on the base branch). Invariant: each tracked
commit counts once however many of those name it; a PR none of whose commits Cursor tracked has no
share (None), never a share of 0. The share is AI-added lines (tab + composer) over all added lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.ingest.feeds.cursor_ai_commits import COMPOSER, NON_AI, SOURCE, TAB
from storage.models import Activity, table

_SHA = re.compile(r"[0-9a-f]{7,64}")


@dataclass(frozen=True)
class AiShare:
    commits: int  # tracked commits of the PR
    tab_lines: float
    composer_lines: float
    non_ai_lines: float

    @property
    def ai_lines(self) -> float:
        return self.tab_lines + self.composer_lines

    @property
    def share(self) -> float | None:
        total = self.ai_lines + self.non_ai_lines
        return self.ai_lines / total if total else None


def pr_shas(pull: Mapping[str, Any], commits: Iterable[Mapping[str, Any]] = ()) -> set[str]:
    """A PR's commit SHAs: the `pulls/{n}/commits` list when given, and its merge commit."""
    found = {str(c.get("sha", "")) for c in commits} | {str(pull.get("merge_commit_sha") or "")}
    return {sha.lower() for sha in found if _SHA.fullmatch(sha.lower())}


def ai_share(session: Session, shas: Iterable[str]) -> AiShare | None:
    """What Cursor tracked of these commits, or None when it tracked none of them."""
    wanted = sorted({s.lower() for s in shas if _SHA.fullmatch(s.lower())})
    if not wanted:
        return None
    activity = table(Activity)
    rows = session.execute(
        select(activity.c.record_key, activity.c.metric, activity.c.value)
        .where(activity.c.source == SOURCE, or_(*(activity.c.record_key.startswith(f"{sha}@") for sha in wanted)))
    ).all()
    if not rows:
        return None
    sums = {TAB: 0.0, COMPOSER: 0.0, NON_AI: 0.0}
    for _, metric, value in rows:
        if metric in sums:
            sums[metric] += float(value)
    return AiShare(len({key for key, _, _ in rows}), sums[TAB], sums[COMPOSER], sums[NON_AI])
