"""Run pulls: pick the sub-feeds, resolve each window from the ledger, ingest page by page."""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot.config.settings import Settings
from bot.errors import TokenworthError, UsageError
from bot.ingest.files import ingest_file
from bot.ingest.pull import (
    anthropic,
    claude_enterprise,
    codex,
    copilot_credits,
    cursor,
    cursor_ai,
    github,
    litellm,
    litellm_daily,
    openai,
)
from bot.ingest.pull.base import PullWindow, SubFeed, Target, Vendor
from bot.ingest.pull.http import PullError, Sleep, VendorClient
from bot.ingest.pull.ledger import finish_run, resolve_window, start_run
from bot.runtime import Runtime
from storage.migrate import upgrade

log = logging.getLogger(__name__)

VENDORS: dict[str, Vendor] = {
    v.name: v for v in (anthropic.VENDOR, openai.VENDOR, cursor.VENDOR, litellm.VENDOR, github.COPILOT, github.PULLS)
}
# the 2026 billing feeds
VENDORS.update({v.name: v for v in (claude_enterprise.VENDOR, codex.VENDOR, copilot_credits.VENDOR, cursor_ai.VENDOR)})
# Pulled only when named (`litellm:daily`, or LITELLM_PULL=daily for the daily job): a gateway that ships its
# spend logs needs no aggregates of them.
NAMED_ONLY: dict[str, tuple[SubFeed, ...]] = {"litellm": (litellm_daily.FEED,)}

Clock = Callable[[], datetime]
Sink = Callable[[Path, str], int]  # store one page file as `source`; returns how many records it held


@dataclass(frozen=True)
class PullResult:
    source: str
    status: str
    since: date | None = None
    until: date | None = None
    pages: int = 0
    records: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def line(self) -> str:
        window = f" {self.since}..{self.until}" if self.since else ""
        text = f"{self.source}{window}: {self.status}, {self.pages} pages, {self.records} records"
        return f"{text}: {self.error}" if self.error else text

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "status": self.status, "since": str(self.since) if self.since else None,
                "until": str(self.until) if self.until else None, "pages": self.pages, "records": self.records,
                "error": self.error}


def utc_now() -> datetime:
    return datetime.now(UTC)


def ingest_sink(engine: Engine) -> Sink:
    def sink(path: Path, source: str) -> int:
        report = ingest_file(engine, path, source=source)
        if report.unusable:
            raise PullError(f"{path.name}: {report.errors[0]['reason'] if report.errors else 'unusable'}")
        return report.records

    return sink


def pull(engine: Engine, settings: Settings, spec: str, *, since: date | None = None, until: date | None = None,
         repo: str | None = None, sleep: Sleep = time.sleep, clock: Clock = utc_now,
         sink: Sink | None = None) -> list[PullResult]:
    """Pull `vendor` or `vendor:feed` into the database; a failed feed is recorded and reported, not raised."""
    vendor, feeds = pick(spec)
    targets = _targets(vendor, settings, repo)
    with vendor.client(settings, sleep) as client:
        return [
            _pull_feed(engine, client, vendor, feed, target, since, until, clock, sink or ingest_sink(engine))
            for feed in feeds for target in targets
        ]


def pull_all_configured(runtime: Runtime, *, sleep: Sleep = time.sleep, clock: Clock = utc_now,
                        sink: Sink | None = None) -> list[PullResult]:
    """The daily job: every vendor whose credentials are set, each resuming from its own ledger.

    A pull is a write point, so it migrates the schema first (a no-op when it is current).
    """
    upgrade(runtime.database)
    settings = runtime.settings
    results: list[PullResult] = []
    for vendor in VENDORS.values():
        if not vendor.configured(settings):
            continue
        spec = "litellm:daily" if vendor.name == "litellm" and settings.litellm_pull == "daily" else vendor.name
        try:
            results += pull(runtime.engine, settings, spec, sleep=sleep, clock=clock, sink=sink)
        except TokenworthError as exc:
            log.error("pull %s: %s", vendor.name, exc)
            results.append(PullResult(vendor.name, "failed", error=str(exc)))
    return results


def pick(spec: str) -> tuple[Vendor, tuple[SubFeed, ...]]:
    name, colon, feed_name = spec.partition(":")
    vendor = VENDORS.get(name)
    if vendor is None:
        raise UsageError(f"unknown source {spec!r}; known: {', '.join(describe_sources())}")
    if not colon:
        return vendor, vendor.feeds
    every = (*vendor.feeds, *NAMED_ONLY.get(name, ()))
    feeds = tuple(f for f in every if f.name == feed_name)
    if not feeds:
        raise UsageError(f"unknown source {spec!r}; {name} has {', '.join(f'{name}:{f.name}' for f in every)}")
    return vendor, feeds


def describe_sources() -> list[str]:
    return [f"{v.name} ({', '.join(f.name for f in (*v.feeds, *NAMED_ONLY.get(v.name, ())))})"
            for v in VENDORS.values()]


def _targets(vendor: Vendor, settings: Settings, repo: str | None) -> list[Target]:
    if vendor is not github.PULLS:
        return [Target(org=settings.github_org)]
    repos = [repo] if repo else [r.strip() for r in (settings.github_repos or "").split(",") if r.strip()]
    if not repos:
        raise UsageError("pulling GitHub pull requests needs --repo OWNER/NAME (or GITHUB_REPOS)")
    for name in repos:
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", name):
            raise UsageError(f"repository {name!r} is not of the form OWNER/NAME")
    return [Target(repo=name) for name in repos]


def _pull_feed(engine: Engine, client: VendorClient, vendor: Vendor, feed: SubFeed, target: Target,
               since: date | None, until: date | None, clock: Clock, sink: Sink) -> PullResult:
    source = f"{feed.source}:{target.repo}" if target.repo else feed.source  # each repository resumes on its own
    window = resolve_window(engine, source, since, until, clock().date(), vendor.trailing_days)
    target = replace(target, today=clock().date())
    run_id = start_run(engine, source, window, clock())
    pages = records = 0
    error: str | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="tokenworth-pull-") as tmp:
            for page in feed.pages(client, window, target):
                pages += 1
                path = Path(tmp) / f"{pages:04d}-{_slug(page.label)}{page.suffix}"
                path.write_bytes(page.content)
                records += sink(path, feed.source)
                log.info("%s: %s: %d records so far", source, page.label, records)
    except PullError as exc:
        error = str(exc)
    except BaseException as exc:
        finish_run(engine, run_id, clock(), pages=pages, records=records, error=f"{type(exc).__name__}: {exc}")
        raise
    finish_run(engine, run_id, clock(), pages=pages, records=records, error=error)
    return PullResult(source, "failed" if error else "ok", window.since, window.until, pages, records, error)


def _slug(label: str) -> str:
    return re.sub(r"[^\w.-]+", "-", label).strip("-")[:80]


__all__ = ["PullResult", "PullWindow", "Sink", "VENDORS", "pull", "pull_all_configured"]
