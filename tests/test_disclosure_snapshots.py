"""Published snapshots on SQLite and PostgreSQL: published once, read back exactly, the first publisher wins."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.core.disclosure import Breakdown, Count, Named, Sheet, Total, disclose
from bot.digest.snapshot import publish, published
from storage.engine import session_scope

GROUP = frozenset(range(10))


def sheet(spend: float) -> Sheet:
    return disclose(GROUP, 5, [
        Total("people_active", 10), Total("spend_usd", spend),
        Breakdown("tool", {"claude_code": (spend - 10.28, GROUP), "openai_api": (10.28, frozenset({3}))}),
        Count("signal:spike", frozenset(range(5))), Named("kudos", {1: "2 merged PRs"}),
    ])


def test_a_snapshot_reads_back_exactly_and_is_never_replaced(engine: Engine) -> None:
    first = publish(engine, "payments", "2026-W46", GROUP, sheet(861.95), datetime(2026, 11, 23, 9, tzinfo=UTC))
    later = publish(engine, "payments", "2026-W46", GROUP - {0}, sheet(817.69))
    assert later == first and first.sheet == sheet(861.95)
    assert first.published_at == datetime(2026, 11, 23, 9, tzinfo=UTC) and first.members == GROUP
    with session_scope(engine) as session:
        found = published(session, "payments", ["2026-W45", "2026-W46"])
    assert list(found) == ["2026-W46"] and found["2026-W46"] == first
    again = found["2026-W46"].sheet
    assert again.value("spend_usd") == 861.95 and again.kudos == ((1, "2 merged PRs"),)


def test_concurrent_publishers_all_show_the_winner(engine: Engine) -> None:
    barrier, results = threading.Barrier(4), []

    def race(spend: float) -> None:
        barrier.wait()
        results.append(publish(engine, "growth", "2026-W47", GROUP, sheet(spend)))

    threads = [threading.Thread(target=race, args=(100.0 + n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len({r.sheet.value("spend_usd") for r in results}) == 1
