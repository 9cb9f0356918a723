"""Ingest feed files: detect the format, stream records, store idempotently, keep every rejection.

A file is ingested in one transaction, written in batches: memory stays flat however large the
file, and a killed ingest leaves the database as if the file had not been started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.errors import FeedError
from bot.ingest.feeds import detect
from bot.ingest.feeds.base import (
    ActivityRow, BilledRow, IdentityLink, OutcomeRow, Record, Rejection, Row, SeatRow, UsageRow, Window,
)
from bot.core.weeks import Week
from storage.engine import session_scope
from storage.models import Activity, Billed, IngestRun, Outcome, RejectedRecord, Seat, Usage
from storage.writes import delete_stale, identity_ids, learn_links, upsert

BATCH = 5_000
KNOWN_IDENTITIES = 100_000  # identity ids remembered per file; bounded so memory stays flat
HEAD_CHARS = 64 * 1024

# Each row type: its table and natural key.
TABLES: dict[type, tuple[type, tuple[str, ...]]] = {
    UsageRow: (Usage, ("source", "record_key")),
    ActivityRow: (Activity, ("source", "record_key", "metric")),
    OutcomeRow: (Outcome, ("key",)),
    BilledRow: (Billed, ("source", "record_key")),
    SeatRow: (Seat, ("source", "record_key")),
}


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


Progress = Callable[[int], None]


def feed_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and every file below directories named, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def ingest_paths(
    engine: Engine, paths: Iterable[str | Path], source: str | None = None, progress: Progress | None = None,
    config: OrgConfig | None = None,
) -> list[FileReport]:
    return [ingest_file(engine, path, source, progress, config) for path in feed_files(paths)]


def ingest_file(
    engine: Engine, path: Path, source: str | None = None, progress: Progress | None = None,
    config: OrgConfig | None = None,
) -> FileReport:
    """Ingest one file; `config` lets feeds that have org settings (Jira's resolutions) use them."""
    report = FileReport(path=str(path))
    try:
        feed = detect(_head(path), source)
        if config is not None and hasattr(feed, "configured"):
            feed = feed.configured(config)
        report.source = feed.name
        with session_scope(engine) as session:
            windows: dict[Window, set[str]] = {}
            known: dict[tuple[str, str], int] = {}
            parsed = feed.parse(path)
            while batch := list(islice(parsed, BATCH)):
                _store(session, batch, report, windows, known)
                if progress:
                    progress(len(batch))
            for window, keys in windows.items():
                delete_stale(session, window.source, window.day, keys)
            _record_run(session, report)
    except FeedError as exc:
        report = FileReport(path=str(path), source=report.source, unusable=True)
        report.errors.append({"where": str(path), "reason": str(exc)})
        with session_scope(engine) as session:
            _record_run(session, report)
    return report


def _head(path: Path) -> str:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return handle.read(HEAD_CHARS)
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read ({exc.strerror})") from None


def _store(
    session: Session, batch: list[Record | Rejection], report: FileReport, windows: dict[Window, set[str]],
    known: dict[tuple[str, str], int],
) -> None:
    records = [item for item in batch if isinstance(item, Record)]
    rows = [row for record in records for row in record.rows]
    links = [r for r in rows if isinstance(r, IdentityLink)]
    refs = {(r.identity.kind, r.identity.value) for r in rows if isinstance(r, (UsageRow, ActivityRow, OutcomeRow, SeatRow))}
    refs |= {(ref.kind, ref.value) for link in links for ref in (link.known, link.also)}
    ids = _identity_ids(session, refs, known)
    learn_links(session, [(link.source, ids[(link.known.kind, link.known.value)], ids[(link.also.kind, link.also.value)])
                          for link in links])
    stored: set[tuple[Any, ...]] = set()
    for row_type, (model, keys) in TABLES.items():
        values = [_values(r, ids) for r in rows if type(r) is row_type]
        if values:
            stored |= {(row_type, *key) for key in upsert(session, model, keys, values).stored}
    for record in records:
        if record.window is not None:
            windows.setdefault(record.window, set()).update(
                r.record_key for r in record.rows if isinstance(r, (UsageRow, ActivityRow, BilledRow))
            )
        _count(record, stored, report)
    report.records += len(batch)
    for rejection in (item for item in batch if isinstance(item, Rejection)):
        report.rejected += 1
        report.errors.append({"where": f"{report.path}: {rejection.location}", "reason": rejection.reason})


def _identity_ids(session: Session, refs: set[tuple[str, str]], known: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """Identity ids, asking the database only for those not seen earlier in this file."""
    missing = refs - known.keys()
    if missing:
        if len(known) > KNOWN_IDENTITIES:
            known.clear()
        known.update(identity_ids(session, missing))
    return known


def _count(record: Record, stored: set[tuple[Any, ...]], report: FileReport) -> None:
    counted = [row for row in record.rows if not isinstance(row, IdentityLink)]
    if any(_natural_key(row) in stored for row in counted):
        report.stored += 1
    elif counted:
        report.duplicates += 1
    else:
        report.skipped += 1


def _values(row: Row, ids: dict[tuple[str, str], int]) -> dict[str, Any]:
    values = dict(vars(row))  # shallow: dataclasses.asdict deep-copies every field, and dominated ingest time
    identity = values.pop("identity", None)
    if identity is not None:
        values["identity_id"] = ids[(identity.kind, identity.value)]
    if isinstance(row, OutcomeRow):
        values["week"] = str(Week.of(row.occurred_at))
    return values


def _natural_key(row: UsageRow | ActivityRow | OutcomeRow | BilledRow | SeatRow) -> tuple[Any, ...]:
    _, keys = TABLES[type(row)]
    return (type(row), *(getattr(row, k) for k in keys))


def _record_run(session: Session, report: FileReport) -> None:
    now = datetime.now(timezone.utc)
    run = IngestRun(
        path=report.path, source=report.source, started_at=now, finished_at=now,
        records=report.records, stored=report.stored, duplicates=report.duplicates,
        rejected=report.rejected + (1 if report.unusable else 0),
    )
    session.add(run)
    session.flush()
    assert run.id is not None
    session.add_all(RejectedRecord(run_id=run.id, location=e["where"], reason=e["reason"]) for e in report.errors)
