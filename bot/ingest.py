"""Ingest feed files: detect the format, parse, store idempotently, keep every rejection."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.errors import FeedError
from bot.feeds import detect
from bot.feeds.base import ActivityRow, OutcomeRow, Record, Rejection, Row, UsageRow
from bot.weeks import Week
from storage.engine import session_scope
from storage.models import IngestRun, RejectedRecord
from storage.writes import identity_ids, upsert_activity, upsert_outcomes, upsert_usage


@dataclass
class FileReport:
    path: str
    source: str | None = None
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0  # valid records that carry nothing to count (an unmerged PR, a bot's PR)
    rejected: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    unusable: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def feed_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and every file below directories named, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def ingest_paths(engine: Engine, paths: Iterable[str | Path], source: str | None = None) -> list[FileReport]:
    return [ingest_file(engine, path, source) for path in feed_files(paths)]


def ingest_file(engine: Engine, path: Path, source: str | None = None) -> FileReport:
    report = FileReport(path=str(path))
    try:
        document = _load(path)
        feed = detect(document, source)
    except FeedError as exc:
        report.unusable = True
        report.errors.append({"where": str(path), "reason": str(exc)})
        _record_run(engine, report)
        return report
    report.source = feed.name
    parsed = list(feed.parse(document))
    with session_scope(engine) as session:
        _store(session, parsed, report)
        _record_run_in(session, report)
    return report


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise FeedError(f"{path}: not a text file ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _store(session: Session, parsed: list[Record | Rejection], report: FileReport) -> None:
    records = [p for p in parsed if isinstance(p, Record)]
    rows = [row for record in records for row in record.rows]
    ids = identity_ids(session, {(r.identity.kind, r.identity.value) for r in rows})

    def values(row: Row, **extra: Any) -> dict[str, Any]:
        fields = asdict(row)
        fields.pop("identity")
        return {**fields, "identity_id": ids[(row.identity.kind, row.identity.value)], **extra}

    stored = upsert_usage(session, [values(r) for r in rows if isinstance(r, UsageRow)]).stored
    stored |= upsert_activity(session, [values(r) for r in rows if isinstance(r, ActivityRow)]).stored
    stored |= upsert_outcomes(
        session, [values(r, week=str(Week.of(r.occurred_at))) for r in rows if isinstance(r, OutcomeRow)]
    ).stored
    report.records = len(parsed)
    for record in records:
        if any(_natural_key(row) in stored for row in record.rows):
            report.stored += 1
        elif record.rows:
            report.duplicates += 1
        else:
            report.skipped += 1
    for rejection in (p for p in parsed if isinstance(p, Rejection)):
        report.rejected += 1
        report.errors.append({"where": f"{report.path}: {rejection.location}", "reason": rejection.reason})


def _natural_key(row: Row) -> tuple[Any, ...]:
    if isinstance(row, OutcomeRow):
        return (row.key,)
    if isinstance(row, ActivityRow):
        return (row.source, row.record_key, row.metric)
    return (row.source, row.record_key)


def _record_run(engine: Engine, report: FileReport) -> None:
    with session_scope(engine) as session:
        _record_run_in(session, report)


def _record_run_in(session: Session, report: FileReport) -> None:
    now = datetime.now(timezone.utc)
    run = IngestRun(
        path=report.path, source=report.source, started_at=now, finished_at=now,
        records=report.records, stored=report.stored, duplicates=report.duplicates,
        rejected=report.rejected + (1 if report.unusable else 0),
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    for error in report.errors:
        session.add(RejectedRecord(run_id=run.id, location=error["where"], reason=error["reason"]))
