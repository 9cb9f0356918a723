"""The packed dedup ledger against a plain set: the same answers, 16 bytes a key, a bounded number of parts."""

from __future__ import annotations

import hashlib
import random

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from storage import ledger
from storage.models import EventLedger, table

DAY = 739_580  # 2025-11-17's ordinal


def keys_for(numbers: list[int]) -> list[bytes]:
    return [hashlib.md5(f"litellm\x1f{n}".encode()).digest() for n in numbers]


def test_the_ledger_answers_as_a_set_would(engine: Engine) -> None:
    rng = random.Random(7)
    seen: set[tuple[int, bytes]] = set()
    batches = [[rng.randrange(3_000) for _ in range(rng.randrange(1, 900))] for _ in range(ledger.MAX_PARTS + 4)]
    for numbers in batches:
        days = [DAY + n % 3 for n in numbers]
        digests = keys_for(numbers)
        with Session(engine) as session, session.begin():
            held = ledger.remember(session, np.array(days), ledger.as_keys(digests))
        expected = []
        for day, digest in zip(days, digests, strict=True):
            expected.append((day, digest) in seen)
            seen.add((day, digest))
        assert held.tolist() == expected
    with engine.connect() as conn:
        assert ledger.stored_keys(conn) == {digest for _, digest in seen}
        assert ledger.key_count(conn) == len(seen)
        blobs = table(EventLedger)
        packed = conn.execute(select(func.sum(func.length(blobs.c.packed)))).scalar_one()
        most = conn.execute(select(func.count()).select_from(blobs).group_by(blobs.c.day, blobs.c.bucket)
                            .order_by(func.count().desc()).limit(1)).scalar_one()
    assert packed == 16 * len(seen)  # 16 bytes a key, nothing more in the blobs
    assert most <= ledger.MAX_PARTS  # a bucket's parts are merged before they pile up


def test_the_purge_forgets_whole_days_and_says_how_many_keys(engine: Engine) -> None:
    digests = keys_for(list(range(40)))
    days = np.array([DAY + n % 4 for n in range(40)])
    with Session(engine) as session, session.begin():
        ledger.remember(session, days, ledger.as_keys(digests))
    with Session(engine) as session, session.begin():
        assert ledger.purge(session, DAY + 2) == 20
    with Session(engine) as session, session.begin():
        held = ledger.remember(session, days, ledger.as_keys(digests))
    assert held.tolist() == [n % 4 >= 2 for n in range(40)]  # purged days' keys count again


def test_a_key_is_sixteen_bytes() -> None:
    try:
        ledger.as_keys([b"short"])
    except ValueError as exc:
        assert "16 bytes" in str(exc)
    else:
        raise AssertionError("a short key was taken")
