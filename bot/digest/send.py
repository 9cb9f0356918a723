"""Sending a team's weekly digest, and the admin digest, to a platform, exactly once per (team, week, platform).

Invariant: what is posted is the team-week's published snapshot (published here, just before the first
post, when there is none yet), and every post that carried figures is in the access log. The admin digest
goes through the same claim ledger under the reserved name `ADMIN`, so it too is posted once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.privacy import encode
from bot.core.weeks import Week
from bot.digest import ledger
from bot.digest.admin import ADMIN, AdminDigest, load_admin_digest
from bot.digest.build import Digest, load_digest
from bot.digest.guard import guard
from bot.digest.ledger import Posted, PostError
from bot.digest.publish import log_showing, publish_digest
from bot.runtime import Runtime
from storage.engine import session_scope

log = logging.getLogger("tokenworth.digest")


class Poster(Protocol):
    platform: str

    def post(self, channel: str, digest: Digest) -> Posted: ...

    def post_admin(self, channel: str, admin: AdminDigest) -> Posted: ...


@dataclass(frozen=True)
class SendResult:
    team: str
    week: str
    platform: str
    state: str  # posted, pending, failed, skipped, already
    detail: str = ""


def week_just_ended(timezone_name: str, now: datetime | None = None) -> Week:
    """The ISO week that has just ended where the team is."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone_name))
    return Week.of(local.date()).shift(-1)


def send_digest(runtime: Runtime, team: str, week: Week, poster: Poster, force: bool = False) -> SendResult:
    config = runtime.config
    team_config = config.team(team)
    channel = _channel(team_config, poster.platform) if team_config else None

    def result(state: str, detail: str = "") -> SendResult:
        return SendResult(team, str(week), poster.platform, state, detail)

    if channel is None:
        return result("skipped", f"team {team} has no {poster.platform} channel configured")
    with session_scope(runtime.engine) as session:
        digest = load_digest(session, config, runtime.prices, team, week)
    digest = guard(digest, ledger.shown_groups(runtime.engine, team, str(week)))
    if not digest.has_data:
        ledger.record_skip(runtime.engine, team, str(week), poster.platform, "no data for this week")
        return result("skipped", "no data for this week: nothing posted")
    if not ledger.claim(runtime.engine, team, str(week), poster.platform, force=force):
        return result("already", "already posted or being posted by another process")
    return _post(runtime, publish_digest(runtime.engine, digest), channel, poster)


def _post(runtime: Runtime, digest: Digest, channel: str, poster: Poster) -> SendResult:
    key = (digest.team, str(digest.week), poster.platform)
    try:
        posted = poster.post(channel, digest)
    except PostError as exc:
        if exc.posted is not None:
            _record_posted(runtime, key, exc.posted, digest, error=str(exc))
            log.error("digest %s %s on %s: %s", *key, exc)
            return SendResult(*key, "posted", str(exc))
        state = ledger.record_failure(runtime.engine, *key, str(exc)) if exc.retryable else "failed"
        if state == "failed":
            ledger.record(runtime.engine, *key, "failed", error=str(exc))
        log.error("digest %s %s on %s not posted (%s): %s", *key, state, exc)
        return SendResult(*key, state, str(exc))
    _record_posted(runtime, key, posted, digest)
    log.info("digest %s %s posted on %s: %s", *key, posted.permalink or posted.message_id)
    return SendResult(*key, "posted", posted.permalink or posted.message_id)


def _record_posted(
    runtime: Runtime, key: tuple[str, str, str], posted: Posted, digest: Digest, error: str | None = None
) -> None:
    ledger.record(
        runtime.engine, *key, "posted", posted_at=datetime.now(UTC), channel=posted.channel,
        message_ts=posted.message_id, permalink=posted.permalink, error=error,
    )
    members = _members(digest)
    if members is not None:
        ledger.remember_shown(runtime.engine, *key, members)
    log_showing(runtime.engine, digest, "digest", "channel", posted.channel, platform=key[2])


def _members(digest: Digest) -> str | None:
    """Who the posted figures cover; nothing when no figures were shown."""
    return None if digest.suppressed else encode(digest.active_members)


def _channel(team: object, platform: str) -> str | None:
    return getattr(team, f"{platform}_channel", None)


def retry_pending(runtime: Runtime, poster: Poster) -> list[SendResult]:
    """Try again every digest left pending (not in channel, rate limits, Slack down), the admin digest included."""
    return [
        send_admin_digest(runtime, Week.parse(week), poster) if team == ADMIN
        else send_digest(runtime, team, Week.parse(week), poster)
        for team, week in ledger.pending(runtime.engine, poster.platform)
    ]


def send_admin_digest(runtime: Runtime, week: Week, poster: Poster, force: bool = False) -> SendResult:
    """Post the org's admin digest to `admin_channel` on this platform, exactly once unless `force`."""
    admin_channel = runtime.config.admin_channel
    channel = _channel(admin_channel, poster.platform) if admin_channel else None
    key = (ADMIN, str(week), poster.platform)
    if channel is None:
        return SendResult(*key, "skipped", f"no admin_channel for {poster.platform} in the config")
    with session_scope(runtime.engine) as session:
        admin = load_admin_digest(session, runtime.config, runtime.prices, week)
    if not ledger.claim(runtime.engine, *key, force=force):
        return SendResult(*key, "already", "already posted or being posted by another process")
    try:
        posted = poster.post_admin(channel, admin)
    except PostError as exc:
        state = ledger.record_failure(runtime.engine, *key, str(exc)) if exc.retryable else "failed"
        if state == "failed":
            ledger.record(runtime.engine, *key, "failed", error=str(exc))
        log.error("admin digest %s on %s not posted (%s): %s", week, poster.platform, state, exc)
        return SendResult(*key, state, str(exc))
    ledger.record(runtime.engine, *key, "posted", posted_at=datetime.now(UTC), channel=posted.channel,
                  message_ts=posted.message_id, permalink=posted.permalink)
    log.info("admin digest %s posted on %s: %s", week, poster.platform, posted.permalink or posted.message_id)
    return SendResult(*key, "posted", posted.permalink or posted.message_id)
