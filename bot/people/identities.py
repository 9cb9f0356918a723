"""`tokenworth identities`: who each feed identity belongs to, and what nobody claims yet."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from sqlmodel import Session

from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.reads.queries import identity_listing, unattributed_facts


def identity_lines(session: Session) -> list[str]:
    lines = []
    for kind, value, email, linked_via in identity_listing(session):
        owner = email or "unmapped"
        how = f" (learned from {linked_via})" if linked_via else (" (config)" if email else "")
        lines.append(f"{kind}:{value} -> {owner}{how}")
    return lines


def unmapped_lines(
    session: Session, prices: PriceTable, gateways: Iterable[str], days: int, today: date | None = None,
) -> list[str]:
    """Unclaimed identities with their spend over the last `days` days, largest first."""
    end = (today or date.today()) + timedelta(days=1)
    spend: dict[tuple[str, str], float] = defaultdict(float)
    unpriced: set[tuple[str, str]] = set()
    for fact, kind, value in unattributed_facts(session, gateways, end - timedelta(days=days + 1), end):
        value_usd = spend_of(fact, prices)
        if value_usd is None:
            unpriced.add((kind, value))
        spend[(kind, value)] += value_usd or 0.0
    ordered = sorted(spend.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        f"{kind}:{value}  ${amount:,.2f}{' (+ unpriced usage)' if (kind, value) in unpriced else ''}"
        for (kind, value), amount in ordered
    ]
