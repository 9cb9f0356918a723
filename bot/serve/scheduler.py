"""The schedule: one APScheduler cron job per team and platform in the team's time zone (and one for the admin
digest, in `admin_channel`'s), daily pulls and purge.

Jobs live in the database (SQLAlchemyJobStore), so a bot that was down at 09:00 finds the missed
run when it comes back and, within `misfire_grace_time`, still posts that morning; `coalesce`
folds several missed runs into one. The exactly-once claim makes a second firing harmless.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import OperationalError

from bot.config.org import AdminChannel, TeamConfig
from bot.core.weeks import Week
from bot.digest import ledger
from bot.digest.admin import ADMIN
from bot.digest.send import Poster, SendResult, retry_pending, send_admin_digest, send_digest, week_just_ended
from bot.runtime import Runtime

log = logging.getLogger("tokenworth.scheduler")

GRACE_SECONDS = 6 * 3600
RETRY_MINUTES = 15
PULL_HOUR_UTC = 3
PURGE_HOUR_UTC = 4  # after the daily pulls, so re-pulled old buckets are purged the same night
JOBS_TABLE = "apscheduler_jobs"

# Jobs are stored by reference and must be picklable, so the live objects they need are kept here.
_CONTEXT: dict[str, Any] = {}


def run_scheduled_digest(team: str, platform: str) -> None:
    runtime: Runtime = _CONTEXT["runtime"]
    config = runtime.config.team(team)
    if config is None:
        log.warning("scheduled digest for unknown team %s skipped", team)
        return
    try:
        result = send_digest(runtime, team, week_just_ended(config.timezone), _CONTEXT["posters"][platform])
    except OperationalError as exc:
        log.warning("digest %s on %s waits for the database (%s): the catch-up retries it", team, platform,
                    exc.orig)
        return
    log.info("scheduled digest %s %s on %s: %s %s", result.team, result.week, platform, result.state, result.detail)


def run_scheduled_admin_digest(platform: str) -> None:
    runtime: Runtime = _CONTEXT["runtime"]
    admin = runtime.config.admin_channel
    if admin is None:
        log.warning("scheduled admin digest skipped: admin_channel is no longer configured")
        return
    try:
        result = send_admin_digest(runtime, week_just_ended(admin.timezone), _CONTEXT["posters"][platform])
    except OperationalError as exc:
        log.warning("admin digest on %s waits for the database (%s): the catch-up retries it", platform, exc.orig)
        return
    log.info("scheduled admin digest %s on %s: %s %s", result.week, platform, result.state, result.detail)


def run_pending(platform: str, now: datetime | None = None) -> None:
    """Every RETRY_MINUTES: pending and interrupted digests, then scheduled digests that left no trace.

    A scheduled run that found the database locked (or a process that stopped before claiming) wrote
    no ledger row; the catch-up sends every digest whose time has passed this week and has no row, so
    waiting on a lock ends in a retry, never in a lost week.
    """
    runtime: Runtime = _CONTEXT["runtime"]
    poster = _CONTEXT["posters"][platform]
    try:
        for result in [*retry_pending(runtime, poster), *_catch_up(runtime, poster, now or datetime.now(UTC))]:
            log.info("retried digest %s %s on %s: %s", result.team, result.week, platform, result.state)
    except OperationalError as exc:
        log.warning("digest retries on %s wait for the database (%s): next try in %d minutes", platform, exc.orig,
                    RETRY_MINUTES)


def _catch_up(runtime: Runtime, poster: Poster, now: datetime) -> list[SendResult]:
    results = []
    for team in runtime.config.teams:
        if not getattr(team, f"{poster.platform}_channel", None) or not _due(team, now):
            continue
        week = str(week_just_ended(team.timezone, now))
        if not ledger.has_row(runtime.engine, team.name, week, poster.platform):
            results.append(send_digest(runtime, team.name, Week.parse(week), poster))
    admin = runtime.config.admin_channel
    if admin is not None and getattr(admin, f"{poster.platform}_channel", None) and _due(admin, now):
        week = str(week_just_ended(admin.timezone, now))
        if not ledger.has_row(runtime.engine, ADMIN, week, poster.platform):
            results.append(send_admin_digest(runtime, Week.parse(week), poster))
    return results


def _due(team: TeamConfig | AdminChannel, now: datetime) -> bool:
    """Has this week's digest time passed where the team is?"""
    local = now.astimezone(ZoneInfo(team.timezone))
    monday = local - timedelta(days=local.weekday())
    fire = digest_trigger(team).get_next_fire_time(None, monday.replace(hour=0, minute=0, second=0, microsecond=0))
    return fire is not None and fire <= now


def run_daily_pulls() -> None:
    from bot.ingest.pull.run import pull_all_configured

    for result in pull_all_configured(_CONTEXT["runtime"]):
        log.info("daily pull: %s", result)


def run_daily_purge() -> None:
    from bot.governance.retention import purge

    runtime: Runtime = _CONTEXT["runtime"]
    result = purge(runtime.engine, runtime.config.retention.days, dedup_days=runtime.config.ingest.dedup_days)
    log.info("daily purge: %s", "; ".join(result.lines(runtime.config.retention.days)))


def run_finops_alerts(now: datetime | None = None) -> None:
    """Budget thresholds and cost-per-outcome regressions, each posted once (bot.finops.budgets claims them)."""
    from bot.finops.budgets import run_alerts, text_sender

    runtime: Runtime = _CONTEXT["runtime"]
    senders = [s for s in (text_sender(p) for p in _CONTEXT["posters"].values()) if s is not None]
    for result in run_alerts(runtime.engine, runtime.config, runtime.prices, senders, now or datetime.now(UTC)):
        log.info("finops alert: %s", result)


def digest_trigger(team: TeamConfig | AdminChannel) -> CronTrigger:
    hour, minute = map(int, team.digest.time.split(":"))
    # Day names, never numbers: APScheduler 3 reads day_of_week 0 as Monday even in crontab strings.
    return CronTrigger(day_of_week=team.digest.day[:3], hour=hour, minute=minute, timezone=ZoneInfo(team.timezone))


def start_scheduler(runtime: Runtime, posters: dict[str, Poster], persistent: bool = True) -> BackgroundScheduler:
    """Start the schedule for every team with a channel on each platform; returns the running scheduler."""
    _CONTEXT.update(runtime=runtime, posters=posters)
    store = SQLAlchemyJobStore(engine=runtime.engine, tablename=JOBS_TABLE) if persistent else MemoryJobStore()
    scheduler = BackgroundScheduler(
        jobstores={"default": store}, timezone=UTC,
        job_defaults={"coalesce": True, "misfire_grace_time": GRACE_SECONDS, "max_instances": 1},
    )
    scheduler.start(paused=True)  # reconcile stored jobs with the config before anything fires
    _reconcile(scheduler, runtime, posters)
    scheduler.resume()
    return scheduler


def _reconcile(scheduler: BackgroundScheduler, runtime: Runtime, posters: dict[str, Poster]) -> None:
    wanted: dict[str, tuple[CronTrigger, tuple[str, ...]]] = {}
    for team in runtime.config.teams:
        for platform in posters:
            if getattr(team, f"{platform}_channel", None):
                wanted[f"digest:{platform}:{team.name}"] = (digest_trigger(team), (team.name, platform))
    admin = runtime.config.admin_channel
    for platform in posters:
        if admin is not None and getattr(admin, f"{platform}_channel", None):
            wanted[f"digest:{platform}:{ADMIN}"] = (digest_trigger(admin), (platform,))
    for job in scheduler.get_jobs():
        if job.id.startswith("digest:") and job.id not in wanted:
            job.remove()
    for job_id, (trigger, args) in wanted.items():
        existing = scheduler.get_job(job_id)
        if existing is not None and repr(existing.trigger) == repr(trigger):
            continue  # keep its stored next run time: a missed run must still fire
        run = "run_scheduled_admin_digest" if job_id.endswith(f":{ADMIN}") else "run_scheduled_digest"
        scheduler.add_job(f"{__name__}:{run}", trigger, args=args, id=job_id, replace_existing=True)
    for platform in posters:
        scheduler.add_job(f"{__name__}:run_pending", IntervalTrigger(minutes=RETRY_MINUTES), args=(platform,),
                          id=f"retry:{platform}", replace_existing=True)
    if scheduler.get_job("pull:daily") is None:
        scheduler.add_job(f"{__name__}:run_daily_pulls", CronTrigger(hour=PULL_HOUR_UTC, minute=15, timezone=UTC),
                          id="pull:daily", replace_existing=True)
    if scheduler.get_job("purge:daily") is None:
        scheduler.add_job(f"{__name__}:run_daily_purge", CronTrigger(hour=PURGE_HOUR_UTC, minute=0, timezone=UTC),
                          id="purge:daily", replace_existing=True)
    if scheduler.get_job("finops:alerts") is None:  # after the pulls: budgets and regressions on fresh data
        scheduler.add_job(f"{__name__}:run_finops_alerts", CronTrigger(hour=PURGE_HOUR_UTC + 1, minute=0, timezone=UTC),
                          id="finops:alerts", replace_existing=True)
