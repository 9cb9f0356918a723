"""A year of history for a whole org, written straight into a migrated database.

Ingesting a year through the feeds would measure ingest again; `me` and the digest only read,
so the rows are bulk-inserted with the same shapes the Claude Code and GitHub feeds store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from bench.generate import CC_MODELS, _mix, person_email
from bot.config.org import load_config
from bot.core.weeks import Week
from bot.people.directory import sync_directory
from storage.engine import make_engine
from storage.migrate import upgrade

USAGE_COLUMNS = ("source", "record_key", "identity_id", "day", "provider", "tool", "model", "input_tokens",
                 "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "requests",
                 "cost_usd", "billing")
OUTCOME_COLUMNS = ("key", "source", "kind", "identity_id", "occurred_at", "week", "quantity", "title")


def build_history(db: Path, config: Path, people: int, days: int, last_day: date) -> Path:
    """A database with the org's directory and `days` days of usage and merged PRs up to `last_day`."""
    if db.exists():
        return db
    partial = db.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    upgrade(engine)
    sync_directory(engine, load_config(config))
    engine.dispose()
    conn = sqlite3.connect(partial)
    try:
        ids = {(k, v): i for i, k, v in conn.execute("SELECT id, kind, value FROM identity")}
        first = last_day - timedelta(days=days - 1)
        for p in range(people):
            email_id, github_id = ids[("email", person_email(p))], ids[("github", f"gh{p:05d}")]
            conn.executemany(_insert("usage", USAGE_COLUMNS), _usage(p, email_id, first, days))
            conn.executemany(_insert("outcome", OUTCOME_COLUMNS), _merges(p, github_id, first, days))
        conn.commit()
    finally:
        conn.close()  # the last connection out folds the write-ahead log into the file before it is renamed
    partial.replace(db)
    return db


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _usage(person: int, identity_id: int, first: date, days: int) -> Iterator[tuple[Any, ...]]:
    email = person_email(person)
    for n in range(days):
        day = first + timedelta(days=n)
        h = _mix(person * 7919 + n * 104_729 + 1)
        if h % 100 >= (15 if day.weekday() >= 5 else 90):
            continue
        for m in range(1 + h % 2):  # some days on two models
            model = CC_MODELS[(person + m) % len(CC_MODELS)]
            uncached = 50_000 + (h >> m) % 400_000
            yield ("claude_code", f"{day}|email:{email}|local|{model}", identity_id, str(day), "anthropic",
                   "claude_code", model, uncached, uncached // 3, uncached * 12, uncached * 2, 0, 0,
                   round(uncached * 0.00001 + (h % 997) / 1000, 4), "api")


def _merges(person: int, identity_id: int, first: date, days: int) -> Iterator[tuple[Any, ...]]:
    for n in range(0, days, 7):
        week_start = first + timedelta(days=n)
        h = _mix(person * 31 + n + 7)
        for k in range(h % 5):
            moment = datetime.combine(week_start + timedelta(days=k % 5), time(10 + k), tzinfo=UTC)
            key = f"github:bench/app#{person}-{n}-{k}"
            yield (key, "github", "pr_merged", identity_id, moment.strftime("%Y-%m-%d %H:%M:%S.%f"),
                   str(Week.of(moment.date())), 1.0, f"Change {person}-{n}-{k}")
