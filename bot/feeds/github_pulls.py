"""GitHub pull requests (list JSON, a single PR object, or a webhook payload): merged PRs as outcomes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.feeds.base import IdentityRef, OutcomeRow, Record, Rejection, describe
from bot.weeks import to_utc

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


class GitHubPullsFeed:
    name = SOURCE

    def sniff(self, document: Any) -> bool:
        return any(_looks_like_pull(item) for item in _pull_objects(document))

    def parse(self, document: Any) -> Iterator[Record | Rejection]:
        pulls: list[tuple[str, _Pull]] = []
        for where, raw in _located(document):
            try:
                pulls.append((where, _Pull.model_validate(raw)))
            except ValidationError as exc:
                yield Rejection(where, describe(exc))
        by_number = {(p.repo, p.number): p for _, p in pulls}
        by_title = {(p.repo, p.title): p for _, p in pulls}
        for where, pull in pulls:
            yield Record(where, tuple(_outcomes(pull, by_number, by_title)))


def _outcomes(pull: _Pull, by_number: dict[Any, _Pull], by_title: dict[Any, _Pull]) -> Iterator[OutcomeRow]:
    """A merge earns its (human) author a pr_merged; a revert charges the reverted PR's author."""
    if pull.merged_at is None or pull.by_bot or pull.user is None:
        return
    merged_at = to_utc(pull.merged_at)
    reverted = _reverted(pull, by_number, by_title)
    if reverted is None and not _is_revert(pull):
        yield OutcomeRow(
            key=f"github:{pull.repo}#{pull.number}:merged", source=SOURCE, kind="pr_merged",
            identity=IdentityRef.of("github", pull.user.login), occurred_at=merged_at, title=pull.title,
        )
    elif reverted is not None and reverted.user is not None and not reverted.by_bot and not _is_revert(reverted):
        yield OutcomeRow(
            key=f"github:{pull.repo}#{reverted.number}:reverted", source=SOURCE, kind="pr_reverted",
            identity=IdentityRef.of("github", reverted.user.login), occurred_at=merged_at, title=reverted.title,
        )


def _is_revert(pull: _Pull) -> bool:
    return bool(
        _REVERT_BRANCH.match(pull.head.ref) or _REVERTS_BODY.search(pull.body or "") or _REVERT_TITLE.match(pull.title)
    )


def _reverted(pull: _Pull, by_number: dict[Any, _Pull], by_title: dict[Any, _Pull]) -> _Pull | None:
    for pattern, text in ((_REVERT_BRANCH, pull.head.ref), (_REVERTS_BODY, pull.body or "")):
        match = pattern.search(text)
        if match:
            return by_number.get((pull.repo, int(match[1])))
    title = _REVERT_TITLE.match(pull.title)
    return by_title.get((pull.repo, title[1])) if title else None


def _pull_objects(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document[:5]
    if isinstance(document, dict):
        return [document.get("pull_request", document)]
    return []


def _looks_like_pull(item: Any) -> bool:
    return isinstance(item, dict) and "merged_at" in item and "number" in item and "head" in item


def _located(document: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(document, list):
        yield from ((f"[{i}]", item) for i, item in enumerate(document))
    elif "pull_request" in document:
        yield "pull_request", document["pull_request"]
    else:
        yield "(pull request)", document
