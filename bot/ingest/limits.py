"""Every limit ingest puts on what a feed may say, in one place (README, Feeds: Limits).

Invariant: no figure outside these reaches the database. A number or date outside them is not a
figure anyone can act on, so the store rejects the record that carries it (bot.ingest.bounds); a
single JSON value larger than MAX_JSON_BYTES is refused before it is held in memory whole
(bot.ingest.feeds). Readers look MAX_JSON_BYTES up when they run, so a test may lower it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

DEFAULT_MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_JSON_BYTES = DEFAULT_MAX_JSON_BYTES  # one JSON line, or one whole JSON document
MAX_COUNT = 2**63 - 1  # token and request counts: 0 to the largest BIGINT
EARLIEST = date(2000, 1, 1)  # no AI usage or outcome tokenworth counts happened before this
YEARS_AHEAD = 1  # a date may lie at most this far past today (a seat's scheduled cancellation)


def date_window(today: date | None = None) -> tuple[date, date]:
    """The dates a record may carry: EARLIEST to today plus YEARS_AHEAD, both inclusive."""
    today = today or datetime.now(UTC).date()
    try:
        latest = today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + YEARS_AHEAD, day=28)
    return EARLIEST, latest
