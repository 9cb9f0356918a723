"""The dedup ledger, packed: every folded event's 16-byte key, sorted into blobs per (UTC day, bucket).

Invariant: a key is in the ledger exactly when its event was folded into a rollup (storage.rollups), and it is
stored once, as 16 bytes of a blob: a row holds one `part` of a (day, bucket), its keys sorted and concatenated,
so the ledger costs 16 bytes an event plus a few bytes a row (one row per day, bucket and ingest, merged into
one when a bucket has MAX_PARTS). The bucket is a key's first byte, so a day is read and written in pieces and
an ingest reads only the buckets its keys fall in. Callers hold the fold lock (storage.rollups.lock) from
before `remember` reads until they commit, so no two ingests decide on the same key at once.

In memory a key is two unsigned 64-bit numbers: its first and last 8 bytes read little-endian, which is how
DuckDB's md5_number_upper / md5_number_lower give an MD5, and how numpy reads the blob back.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.dialect import insert
from storage.models import EventLedger, table

MAX_PARTS = 8  # a (day, bucket) with more rows than this is rewritten as one
Keys = np.ndarray[Any, np.dtype[np.uint64]]  # shape (n, 2)


def as_keys(digests: Iterable[bytes]) -> Keys:
    """16-byte keys (storage.rollups.event_key) as an (n, 2) array."""
    joined = b"".join(digests)
    if len(joined) % 16:
        raise ValueError("ledger keys are 16 bytes each")
    return np.frombuffer(joined, dtype="<u8").reshape(-1, 2).copy()


def as_bytes(keys: Keys) -> list[bytes]:
    raw = np.ascontiguousarray(keys, dtype="<u8").tobytes()
    return [raw[i : i + 16] for i in range(0, len(raw), 16)]


def remember(session: Session, days: np.ndarray[Any, Any], keys: Keys) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Put the keys (each with its day's ordinal) in the ledger; returns which were there already, or repeat an
    earlier key of the same call (those are not stored again)."""
    held = np.zeros(len(keys), dtype=bool)
    if not len(keys):
        return held
    order = np.lexsort((keys[:, 1], keys[:, 0], keys[:, 0] & 0xFF, days))
    days, keys = days[order], keys[order]
    repeat = np.zeros(len(keys), dtype=bool)
    repeat[1:] = (days[1:] == days[:-1]) & (keys[1:, 0] == keys[:-1, 0]) & (keys[1:, 1] == keys[:-1, 1])
    sorted_held = repeat.copy()
    group = days.astype(np.int64) * 256 + (keys[:, 0] & 0xFF).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    for day in np.unique(days):
        _remember_day(session, int(day), keys, group, starts, repeat, sorted_held)
    held[order] = sorted_held
    return held


def _remember_day(session: Session, day: int, keys: Keys, group: np.ndarray[Any, Any],
                  starts: np.ndarray[Any, Any], repeat: np.ndarray[Any, Any], held: np.ndarray[Any, Any]) -> None:
    ledger = table(EventLedger)
    first, last = day * 256, day * 256 + 255
    mine = starts[(group[starts] >= first) & (group[starts] <= last)]
    parts: dict[int, list[bytes]] = {}
    for bucket, blob in session.execute(select(ledger.c.bucket, ledger.c.packed).where(ledger.c.day == day)):
        parts.setdefault(int(bucket), []).append(bytes(blob))
    rows = []
    for start in mine:
        bucket = int(group[start] - first)
        end = int(np.searchsorted(group, group[start], side="right"))
        known = [np.frombuffer(blob, dtype="<u8").reshape(-1, 2) for blob in parts.get(bucket, [])]
        found = repeat[start:end].copy()
        for part in known:
            found |= _within(keys[start:end], part)
        held[start:end] = found
        new = keys[start:end][~found]
        if not len(new):
            continue
        if len(known) + 1 > MAX_PARTS:
            merged = np.concatenate([*known, new])
            merged = merged[np.lexsort((merged[:, 1], merged[:, 0]))]
            session.execute(delete(ledger).where(ledger.c.day == day, ledger.c.bucket == bucket))
            rows.append({"day": day, "bucket": bucket, "part": 0, "packed": merged.tobytes()})
        else:
            rows.append({"day": day, "bucket": bucket, "part": len(known), "packed": new.tobytes()})
    if rows:
        session.execute(insert(session, ledger), rows)


def _within(keys: Keys, known: Keys) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which keys (sorted) are among `known` (sorted by first then last 8 bytes)."""
    left = np.searchsorted(known[:, 0], keys[:, 0], side="left")
    right = np.searchsorted(known[:, 0], keys[:, 0], side="right")
    found = np.zeros(len(keys), dtype=bool)
    single = right - left == 1
    found[single] = known[left[single], 1] == keys[single, 1]
    for index in np.flatnonzero(right - left > 1):  # two known keys share 8 bytes: all but never
        found[index] = bool(np.any(known[left[index] : right[index], 1] == keys[index, 1]))
    return found


def purge(session: Session, before_day: int) -> int:
    """Forget the keys of days before `before_day` (an ordinal); returns how many keys went."""
    ledger = table(EventLedger)
    old = ledger.c.day < before_day
    count = session.execute(select(func.coalesce(func.sum(func.length(ledger.c.packed)), 0)).where(old)).scalar_one()
    session.execute(delete(ledger).where(old))
    return int(count) // 16


def stored_keys(connection: Session | Any) -> set[bytes]:
    """Every key the ledger holds (for tests and checks: it reads the whole ledger)."""
    ledger = table(EventLedger)
    blobs = connection.execute(select(ledger.c.packed)).scalars()
    return {key for blob in blobs for key in as_bytes(np.frombuffer(bytes(blob), dtype="<u8").reshape(-1, 2))}


def key_count(connection: Session | Any) -> int:
    """How many keys the ledger holds."""
    ledger = table(EventLedger)
    return int(connection.execute(select(func.coalesce(func.sum(func.length(ledger.c.packed)), 0))).scalar_one()) // 16
