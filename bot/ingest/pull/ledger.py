"""The pull ledger: one PullRun row per pull, and the window a pull resumes from."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import col, select

from bot.errors import UsageError
from bot.ingest.pull.base import PullWindow
from storage.engine import session_scope
from storage.models import PullRun

FIRST_PULL_DAYS = 30


def last_success(engine: Engine, source: str) -> PullRun | None:
    with session_scope(engine) as session:
        query = (select(PullRun).where(PullRun.source == source, PullRun.status == "ok")
                 .order_by(col(PullRun.until).desc(), col(PullRun.id).desc()).limit(1))
        return session.exec(query).first()


def resolve_window(engine: Engine, source: str, since: date | None, until: date | None, today: date,
                   trailing_days: int) -> PullWindow:
    """--since wins; else resume `trailing_days` before the last good pull's end; else 30 days back."""
    until = until or today
    if since is None:
        last = last_success(engine, source)
        since = last.until - timedelta(days=trailing_days) if last else until - timedelta(days=FIRST_PULL_DAYS)
        since = min(since, until - timedelta(days=1))
    if since >= until:
        raise UsageError(f"--since {since} must be before --until {until} (until is exclusive)")
    return PullWindow(since, until)


def start_run(engine: Engine, source: str, window: PullWindow, now: datetime) -> int:
    with session_scope(engine) as session:
        run = PullRun(source=source, started_at=now, since=window.since, until=window.until)
        session.add(run)
        session.flush()
        assert run.id is not None
        return run.id


def finish_run(engine: Engine, run_id: int, now: datetime, *, pages: int, records: int, error: str | None) -> None:
    with session_scope(engine) as session:
        run = session.get(PullRun, run_id)
        assert run is not None
        run.finished_at, run.pages, run.records = now, pages, records
        run.status, run.error = ("failed", error) if error else ("ok", None)
        session.add(run)
