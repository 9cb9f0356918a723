"""Ingest feed files: detect the format, stream its records into the one store, keep every rejection.

A file is one ingest, in one transaction: bot.ingest.store writes it in batches under the one dedup
rule, so memory stays flat however large the file, and a killed ingest leaves the database as if the
file had not been started. Every file, usable or not, leaves an IngestRun and its rejections behind,
and one file never stops the walk: a parser failing midway costs the rest of its file (bot.ingest.store),
and any other error nobody foresaw (a write the database refuses) makes the file unusable, rolled back
and reported with the reason; either way the next file is read.

A file found by walking a directory whose content is no feed tokenworth knows (a README, a header
file, notes) is skipped with the reason in its report (`ignored`), and leaves no IngestRun; a file
named on its own must be a feed, so there it is unusable. A dry run parses and counts exactly as an
ingest does, inside a transaction that is rolled back: nothing of it, not even its IngestRun, is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.errors import FeedError
from bot.ingest.feeds import detect
from bot.ingest.store import Progress, Tally, first_line, store_records
from storage.engine import session_scope
from storage.models import IngestRun, RejectedRecord

log = logging.getLogger(__name__)

HEAD_CHARS = 64 * 1024


@dataclass
class FileReport:
    path: str
    source: str | None = None
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0  # valid records that carry nothing to count (an unmerged PR, a bot's PR, a repeat)
    rejected: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    unusable: bool = False
    forgotten: int = 0  # of the skipped: records of people who asked to be forgotten
    removed: int = 0  # stored rows a restated report no longer lists, removed
    ignored: str | None = None  # why a file found in a walked directory was skipped: it is not a feed

    @classmethod
    def of(cls, path: Path, source: str, tally: Tally) -> FileReport:
        errors = [{"where": f"{path}: {r.location}", "reason": r.reason} for r in tally.rejections]
        return cls(str(path), source, tally.records, tally.stored, tally.duplicates, tally.skipped, tally.rejected,
                   errors, forgotten=tally.forgotten, removed=tally.removed)

    @classmethod
    def failed(cls, path: Path, source: str | None, reason: str) -> FileReport:
        return cls(str(path), source, unusable=True, errors=[{"where": str(path), "reason": reason}])

    @classmethod
    def not_a_feed(cls, path: Path, reason: str) -> FileReport:
        return cls(str(path), ignored=reason)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def feed_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and every file below directories named, in a stable order."""
    for path, _walked in walk(paths):
        yield path


def walk(paths: Iterable[str | Path]) -> Iterator[tuple[Path, bool]]:
    """Each file with whether it was found by walking a directory (True) or named itself (False)."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from ((p, True) for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith("."))
        else:
            yield path, False


def ingest_paths(
    engine: Engine, paths: Iterable[str | Path], source: str | None = None, progress: Progress | None = None,
    config: OrgConfig | None = None,
) -> list[FileReport]:
    return list(ingest_each(engine, paths, source, progress, config))


def ingest_each(
    engine: Engine, paths: Iterable[str | Path], source: str | None = None, progress: Progress | None = None,
    config: OrgConfig | None = None, *, dry_run: bool = False,
) -> Iterator[FileReport]:
    """Each file's report as soon as the file is done, so a caller can show it before the next one starts."""
    for path, walked in walk(paths):
        if walked and source is None:
            skipped = _not_a_feed(path)
            if skipped is not None:
                yield skipped
                continue
        yield ingest_file(engine, path, source, progress, config, dry_run=dry_run)


def _not_a_feed(path: Path) -> FileReport | None:
    """A skip report for a walked file whose content is no known feed; None for a feed, or for a file that
    cannot be read (ingest_file reports that one unusable, as for any file)."""
    try:
        head = _head(path)
        detect(head)
    except FeedError as exc:
        if str(exc).startswith(f"{path}:"):
            return None
        return FileReport.not_a_feed(path, str(exc).split(" (known:")[0] if head.strip() else "empty file")
    return None


def ingest_file(
    engine: Engine, path: Path, source: str | None = None, progress: Progress | None = None,
    config: OrgConfig | None = None, *, dry_run: bool = False,
) -> FileReport:
    """Ingest one file; `config` lets feeds that have org settings (Jira's resolutions) use them.

    With `dry_run` the file is parsed and counted in a transaction that is rolled back, and no run is recorded.
    """
    name: str | None = None
    try:
        feed = detect(_head(path), source)
        if config is not None:
            feed = feed.configured(config)
        name = feed.name
        with _transaction(engine, dry_run) as session:
            tally = store_records(session, feed.parse(path), unique_keys=feed.unique_keys, progress=progress,
                                  path=path)
            report = FileReport.of(path, feed.name, tally)
            if not dry_run:
                _record_run(session, report)
    except FeedError as exc:
        report = FileReport.failed(path, name, str(exc))
    except Exception as exc:
        log.warning("%s: unexpected error, the file was rolled back", path, exc_info=True)
        report = FileReport.failed(path, name, f"unexpected error: {type(exc).__name__}: {first_line(exc)}; "
                                               "nothing of it was stored")
    else:
        return report
    if not dry_run:
        with session_scope(engine) as session:
            _record_run(session, report)
    return report


@contextmanager
def _transaction(engine: Engine, dry_run: bool) -> Iterator[Session]:
    """The file's one transaction: committed when the block ends, or always rolled back in a dry run."""
    if not dry_run:
        with session_scope(engine) as session:
            yield session
        return
    with Session(engine, expire_on_commit=False) as session:
        transaction = session.begin()
        try:
            yield session
        finally:
            transaction.rollback()


def _head(path: Path) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return handle.read(HEAD_CHARS)
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read ({exc.strerror})") from None


def _record_run(session: Session, report: FileReport) -> None:
    now = datetime.now(UTC)
    run = IngestRun(
        path=report.path, source=report.source, started_at=now, finished_at=now,
        records=report.records, stored=report.stored, duplicates=report.duplicates,
        rejected=report.rejected + (1 if report.unusable else 0),
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    session.add_all(RejectedRecord(run_id=run.id, location=e["where"], reason=e["reason"]) for e in report.errors)
