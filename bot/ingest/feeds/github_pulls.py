"""GitHub pull requests (list JSON, a single PR object, or a webhook payload): merged PRs as outcomes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.core.weeks import to_utc
from bot.errors import FeedError
from bot.ingest.feeds.base import (
    BAD_RECORD,
    BaseFeed,
    IdentityRef,
    OutcomeRow,
    Record,
    Rejection,
    load_json,
    reason,
)

SOURCE = "github"
_REVERT_BRANCH = re.compile(r"^revert-(\d+)-")
_REVERTS_BODY = re.compile(r"\bReverts\s+[\w.-]+/[\w.-]+#(\d+)")
_REVERT_TITLE = re.compile(r'^Revert "(.+)"$')
_REPO_URL = re.compile(r"/repos/([^/]+/[^/]+)/pulls/\d+")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _User(_Model):
    login: str
    type: str = "User"


class _Repo(_Model):
    full_name: str


class _Ref(_Model):
    ref: str = ""
    repo: _Repo | None = None


class _Pull(_Model):
    number: int = Field(strict=True, gt=0)
    title: str = ""
    body: str | None = None
    url: str = ""
    user: _User | None
    merged_at: datetime | None = None
    head: _Ref = _Ref()
    base: _Ref = _Ref()

    @property
    def repo(self) -> str:
        if self.base.repo:
            return self.base.repo.full_name
        match = _REPO_URL.search(self.url)
        return match[1] if match else "unknown/unknown"

    @property
    def by_bot(self) -> bool:
        return self.user is None or self.user.type == "Bot" or self.user.login.endswith("[bot]")


class GitHubPullsFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"merged_at"' in head and '"head"' in head and '"number"' in head

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        yield from parse_pulls(load_json(path))


def parse_pulls(document: Any) -> Iterator[Record | Rejection]:
    """Pull requests from a list page, a single PR object, or a `pull_request` webhook payload."""
    if not isinstance(document, (list, dict)):
        raise FeedError("expected a list of pull requests, a pull request, or a webhook payload")
    pulls: list[tuple[str, _Pull]] = []
    for where, raw in _located(document):
        try:
            pulls.append((where, _Pull.model_validate(raw)))
        except BAD_RECORD as exc:
            yield Rejection(where, reason(exc))
    titles = {(p.repo, p.title): p.number for _, p in pulls}
    for where, pull in pulls:
        try:
            item: Record | Rejection = Record(where, tuple(_outcomes(pull, titles)))
        except BAD_RECORD as exc:
            item = Rejection(where, reason(exc))
        yield item


def _outcomes(pull: _Pull, titles: dict[tuple[str, str], int]) -> Iterator[OutcomeRow]:
    """A human's merge earns a pr_merged; a merged revert points (ref) at the merge it undoes.

    The revert charge itself is resolved when reading, so it lands on the reverted PR's author
    whichever order the two PRs arrive in, and a revert of a revert (never a pr_merged) charges nobody.
    """
    if pull.merged_at is None or pull.user is None:
        return
    merged_at = to_utc(pull.merged_at)
    if _is_revert(pull):
        target = _reverted_number(pull, titles)
        if target is not None:
            yield OutcomeRow(
                key=f"github:{pull.repo}#{pull.number}:revert", source=SOURCE, kind="pr_revert",
                identity=IdentityRef.of("github", pull.user.login), occurred_at=merged_at, title=pull.title,
                ref=merged_key(pull.repo, target),
            )
    elif not pull.by_bot:
        yield OutcomeRow(
            key=merged_key(pull.repo, pull.number), source=SOURCE, kind="pr_merged",
            identity=IdentityRef.of("github", pull.user.login), occurred_at=merged_at, title=pull.title,
        )


def merged_key(repo: str, number: int) -> str:
    return f"github:{repo.lower()}#{number}:merged"


def _is_revert(pull: _Pull) -> bool:
    return bool(
        _REVERT_BRANCH.match(pull.head.ref) or _REVERTS_BODY.search(pull.body or "") or _REVERT_TITLE.match(pull.title)
    )


def _reverted_number(pull: _Pull, titles: dict[tuple[str, str], int]) -> int | None:
    for pattern, text in ((_REVERT_BRANCH, pull.head.ref), (_REVERTS_BODY, pull.body or "")):
        match = pattern.search(text)
        if match:
            return int(match[1])
    title = _REVERT_TITLE.match(pull.title)
    return titles.get((pull.repo, title[1])) if title else None


def _located(document: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(document, list):
        yield from ((f"[{i}]", item) for i, item in enumerate(document))
    elif "pull_request" in document:
        yield "pull_request", document["pull_request"]
    else:
        yield "(pull request)", document


FEED = GitHubPullsFeed()
