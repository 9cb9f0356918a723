"""Chart PNGs for Teams cards, served by the bot itself at unguessable URLs that expire.

Adaptive Cards cannot carry large inline images, so a card links to /charts/{token}.png on this
bot's own server. The token is 256 random bits; the row disappears from view once it expires.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select

from bot.core.weeks import to_utc
from storage.engine import session_scope
from storage.models import ChartImage, table

Clock = Callable[[], datetime]
CHART_TTL = timedelta(days=30)
TABLE = table(ChartImage)


def utc_now() -> datetime:
    return datetime.now(UTC)


class ChartStore:
    def __init__(self, engine: Engine, clock: Clock = utc_now, ttl: timedelta = CHART_TTL):
        self.engine = engine
        self.clock = clock
        self.ttl = ttl

    def put(self, png: bytes) -> str:
        """Keep a PNG until the TTL passes; returns its token. Expired charts are purged on the way."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        with session_scope(self.engine) as session:
            session.execute(delete(TABLE).where(TABLE.c.expires_at <= now))
            session.execute(TABLE.insert().values(token=token, content=png, expires_at=now + self.ttl))
        return token

    def get(self, token: str) -> bytes | None:
        """The PNG while it has not expired; None once it has, or for a token never issued."""
        with session_scope(self.engine) as session:
            row = session.execute(select(TABLE.c.content, TABLE.c.expires_at).where(TABLE.c.token == token)).first()
        if row is None or to_utc(row.expires_at) <= self.clock():
            return None
        return bytes(row.content)


def chart_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/charts/{token}.png"
