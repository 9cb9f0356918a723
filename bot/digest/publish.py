"""Showing a digest to anyone but the people in it: publish its figures first, then log who saw them.

Invariant: figures are frozen as the team-week's snapshot before they first leave the process (so both
platforms and every later showing show the same), and each showing of team figures is appended to the
access log with the members it covered. A digest without figures is neither published nor logged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from bot.digest.build import Digest
from bot.digest.snapshot import publish
from bot.governance.access import Showing, record_showing


def publish_digest(engine: Engine, digest: Digest, now: datetime | None = None) -> Digest:
    """The digest serving its team-week's published snapshot: this one's figures, or a concurrent publisher's."""
    if digest.suppressed or digest.current.published or digest.current.sheet is None:
        return digest
    stored = publish(engine, digest.team, str(digest.week), digest.active_members, digest.current.sheet, now)
    return digest.serving(stored)


def log_showing(engine: Engine, digest: Digest, surface: str, audience_kind: str, audience: str,
                platform: str | None = None) -> None:
    """Append one showing of this digest's figures to the access log (nothing when it shows none)."""
    if digest.suppressed:
        return
    record_showing(engine, Showing(
        surface=surface, audience_kind=audience_kind, audience=audience, platform=platform, team=digest.team,
        week=str(digest.week), members=digest.active_members,
    ))
