"""GitHub pull requests (list JSON, a single PR object, or a webhook payload): merged PRs as outcomes.

Each merged PR and revert also yields its work details (WorkRow, under the outcome's key): when it was
opened, labels, head branch, lines changed where the payload carries them, the tickets its body closes.
A list page carries no line counts; they stay None (unknown), never 0.

A PR object may carry GitHub's `GET /pulls/{n}/files` list under `files` (the pull adds it: webhooks and list
pages carry no files). Its paths, renamed files under both names, are stored as a work-details row of their own,
source `github_files` under the same key, with the lines summed over the files: so no later list page, single PR
or webhook (source `github`) ever erases them. GitHub lists at most 3,000 files; at that cap the line sums are
left unknown.
"""

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
    WorkRow,
    as_json,
    load_json,
    read_record,
    reason,
)

SOURCE = "github"
FILES_SOURCE = "github_files"
MAX_FILES = 3000  # GitHub's files endpoint lists no more
_REVERT_BRANCH = re.compile(r"^revert-(\d+)-")
_REVERTS_BODY = re.compile(r"\bReverts\s+[\w.-]+/[\w.-]+#(\d+)")
_REVERT_TITLE = re.compile(r'^Revert "(.+)"$')
_REPO_URL = re.compile(r"/repos/([^/]+/[^/]+)/pulls/\d+")
# "Fixes ABC-12", "closes: ENG-7", "Resolved PROJ-3": the ticket keys a PR says it closes
_CLOSES = re.compile(r"\b(?:fix(?:e[sd])?|close[sd]?|resolve[sd]?)\b:?\s+([A-Z][A-Z0-9]+-\d+)\b", re.IGNORECASE)


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


class _Label(_Model):
    name: str


class _File(_Model):
    filename: str = Field(min_length=1)
    status: str = ""
    additions: int = Field(default=0, strict=True, ge=0)
    deletions: int = Field(default=0, strict=True, ge=0)
    changes: int = Field(default=0, strict=True, ge=0)
    previous_filename: str | None = None


class _Pull(_Model):
    number: int = Field(strict=True, gt=0)
    title: str = ""
    body: str | None = None
    url: str = ""
    user: _User | None
    created_at: datetime | None = None
    merged_at: datetime | None = None
    head: _Ref = _Ref()
    base: _Ref = _Ref()
    labels: list[_Label] = []
    additions: int | None = Field(default=None, strict=True, ge=0)
    deletions: int | None = Field(default=None, strict=True, ge=0)
    files: list[_File] | None = None  # added by the pull from GET /pulls/{n}/files; None: not fetched

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
        yield read_record(where, _outcomes, pull, titles)


def _outcomes(pull: _Pull, titles: dict[tuple[str, str], int]) -> Iterator[OutcomeRow | WorkRow]:
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
            key = f"github:{pull.repo}#{pull.number}:revert"
            yield OutcomeRow(
                key=key, source=SOURCE, kind="pr_revert",
                identity=IdentityRef.of("github", pull.user.login), occurred_at=merged_at, title=pull.title,
                ref=merged_key(pull.repo, target),
            )
            yield _work(pull, pull.user.login, key, merged_at, reverts=merged_key(pull.repo, target))
    elif not pull.by_bot:
        key = merged_key(pull.repo, pull.number)
        yield OutcomeRow(
            key=key, source=SOURCE, kind="pr_merged",
            identity=IdentityRef.of("github", pull.user.login), occurred_at=merged_at, title=pull.title,
        )
        yield _work(pull, pull.user.login, key, merged_at)
        if pull.files is not None:
            yield _files(pull, pull.user.login, key, merged_at, pull.files)


def _work(pull: _Pull, author: str, key: str, merged_at: datetime, reverts: str | None = None) -> WorkRow:
    opened = to_utc(pull.created_at) if pull.created_at is not None else None
    return WorkRow(
        source=SOURCE, key=key, identity=IdentityRef.of("github", author), finished_at=merged_at,
        ref=f"{pull.repo}#{pull.number}", title=pull.title, labels=as_json(label.name for label in pull.labels),
        additions=pull.additions, deletions=pull.deletions, repo=pull.repo, opened_at=opened, merged_at=merged_at,
        reverts=reverts, fixes=as_json(m.upper() for m in _CLOSES.findall(pull.body or "")),
        branch=pull.head.ref or None,
    )


def _files(pull: _Pull, author: str, key: str, merged_at: datetime, files: list[_File]) -> WorkRow:
    """The paths a merged PR changed, as their own work-details row; renamed files count under both names."""
    paths = [f.filename for f in files] + [f.previous_filename for f in files if f.previous_filename]
    whole = len(files) < MAX_FILES
    return WorkRow(
        source=FILES_SOURCE, key=key, identity=IdentityRef.of("github", author), finished_at=merged_at,
        ref=f"{pull.repo}#{pull.number}", files=as_json(paths), repo=pull.repo, merged_at=merged_at,
        additions=sum(f.additions for f in files) if whole else None,
        deletions=sum(f.deletions for f in files) if whole else None,
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
