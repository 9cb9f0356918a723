"""`tokenworth doctor`: is this setup able to ingest, post and answer? One typed Check per finding.

Invariants: the doctor writes nothing (no migration, no directory sync, no message posted) and never
stops at a broken part: a bad variable, config or database becomes a failed check and the checks that
do not depend on it still run. Every check that is not ok says how to fix it. The checks of chat
platforms and of the data live in bot.serve.doctor_chat and bot.serve.doctor_data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.config.org import OrgConfig, load_config
from bot.config.settings import Settings, redact_url
from bot.errors import ConfigError
from storage import make_engine
from storage.migrate import schema_revisions

Status = Literal["ok", "warn", "fail"]
JOBS_TABLE = "apscheduler_jobs"  # bot.serve.scheduler's job store
OVERDUE_SECONDS = 3600  # the retry job fires every 15 minutes while `serve` runs


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        fix = f"; fix: {self.fix}" if self.fix and self.status != "ok" else ""
        return f"{self.status:<4}  {self.name}: {self.detail}{fix}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Setup:
    """What the checks look at, as far as it could be read."""

    settings: Settings
    config: OrgConfig | None
    engine: Engine | None  # reachable and at the current schema; else None
    now: datetime


def run_doctor(db: str | None, config_path: str | None, now: datetime | None = None) -> list[Check]:
    """Every check, in the order an admin fixes things: settings, config, database, platforms, data, schedule."""
    from bot.serve import doctor_chat, doctor_data

    checks: list[Check] = []
    settings = read_settings(checks)
    config = read_config(config_path or settings.tokenworth_config, checks)
    bad_url = db is None and any(c.name == "settings DATABASE_URL" for c in checks)
    engine = None if bad_url else open_database(db or settings.database_url, checks)
    setup = Setup(settings, config, engine, now or datetime.now(UTC))
    steps: list[Callable[[Setup], list[Check]]] = [
        doctor_chat.slack_checks, doctor_chat.teams_checks, doctor_data.feed_checks, doctor_data.unmapped_checks,
        schedule_checks,
    ]
    for step in steps:
        try:
            checks.extend(step(setup))
        except SQLAlchemyError as exc:  # the database went away mid-way: say so, and check the rest
            checks.append(Check(step.__name__.removesuffix("_checks"), "fail",
                                f"the database failed during this check ({type(exc).__name__})",
                                "check that the database is up, then run `tokenworth doctor` again"))
    if engine is not None:
        engine.dispose()
    return checks


def read_settings(checks: list[Check]) -> Settings:
    """The settings; each invalid variable is a failed check and is read as unset, so the rest can be checked."""
    try:
        settings = Settings()
    except ValidationError as exc:
        bad = {str(err["loc"][0]): err["msg"] for err in exc.errors()}
        checks += [Check(f"settings {name.upper()}", "fail", message, f"correct or unset {name.upper()}")
                   for name, message in bad.items()]
        settings = Settings(**{name: Settings.model_fields[name].default for name in bad})
    else:
        checks.append(Check("settings", "ok", "every environment variable set is valid"))
    return settings


def read_config(path: str, checks: list[Check]) -> OrgConfig | None:
    if not Path(path).exists():
        checks.append(Check("config", "fail", f"{path}: config file not found",
                            "write it (examples/tokenworth.yml is a complete one) or set TOKENWORTH_CONFIG"))
        return None
    try:
        config = load_config(path)
    except ConfigError as exc:
        checks.append(Check("config", "fail", str(exc), f"correct {path}"))
        return None
    checks.append(Check("config", "ok", f"{path}: {len(config.teams)} teams, {len(config.people)} people"))
    return config


def open_database(url: str, checks: list[Check]) -> Engine | None:
    """The database when it answers and is at the schema this version reads; else a failed check and None."""
    shown = redact_url(url)
    file = make_url(url).database if url.startswith("sqlite") else None
    if file and file != ":memory:" and not Path(file).exists():
        checks.append(Check("database", "fail", f"{shown}: no database file there",
                            "check DATABASE_URL (or --db), or create it with `tokenworth db upgrade`"))
        return None
    try:
        engine = make_engine(url, **({"connect_args": {"connect_timeout": 5}} if url.startswith("postgres") else {}))
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = schema_revisions(engine)
    except SQLAlchemyError as exc:
        checks.append(Check("database", "fail", f"{shown} does not answer ({type(exc).__name__}: "
                                                f"{str(getattr(exc, 'orig', exc)).strip().splitlines()[0]})",
                            "check DATABASE_URL (or --db), that the server runs and that the user may connect"))
        return None
    if current != head:
        state = "has no tokenworth schema" if current is None else f"is at schema {current}"
        checks.append(Check("database", "fail", f"{shown} {state}, this version needs {head}",
                            "run `tokenworth db upgrade` (serve and ingest also migrate when they start)"))
        engine.dispose()
        return None
    checks.append(Check("database", "ok", f"{shown} answers, schema {head} is current"))
    return engine


def schedule_checks(setup: Setup) -> list[Check]:
    """Each team's digest time and where it goes; and whether a `serve` keeps the stored schedule moving."""
    from bot.serve.scheduler import digest_trigger

    if setup.config is None:
        return []
    checks = []
    for team in setup.config.teams:
        places = [f"Slack {team.slack_channel}"] * bool(team.slack_channel)
        places += [f"Teams {team.teams_channel}"] * bool(team.teams_channel)
        name = f"schedule {team.name}"
        if not places:
            checks.append(Check(name, "warn", "no slack_channel or teams_channel: its digest is never posted",
                                f"give teams[{team.name}] a slack_channel or teams_channel in the config"))
            continue
        fire = digest_trigger(team).get_next_fire_time(None, setup.now)
        when = f" (next {fire:%Y-%m-%d})" if fire else ""
        checks.append(Check(name, "ok", f"{team.digest.day.capitalize()}s {team.digest.time} {team.timezone}{when}, "
                                        f"to {' and '.join(places)}"))
    return checks + _stored_schedule(setup)


def _stored_schedule(setup: Setup) -> list[Check]:
    """While `serve` runs, the stored jobs' next run times stay ahead of now; far behind means nobody runs them."""
    if setup.engine is None or not inspect(setup.engine).has_table(JOBS_TABLE):
        return [Check("schedule serve", "ok", "no schedule stored yet: `tokenworth serve` stores it when it starts")]
    with setup.engine.connect() as connection:
        jobs = connection.execute(select(text("min(next_run_time)")).select_from(text(JOBS_TABLE))).scalar()
    if jobs is None or float(jobs) >= setup.now.timestamp() - OVERDUE_SECONDS:
        return [Check("schedule serve", "ok", "the stored schedule is up to date")]
    since = datetime.fromtimestamp(float(jobs), UTC)
    return [Check("schedule serve", "warn", f"stored jobs are overdue since {since:%Y-%m-%d %H:%M} UTC: no "
                                            "`tokenworth serve` is running on this database",
                  "start `tokenworth serve` (missed digests of the last 6 hours still go out when it starts)")]


def summary(checks: list[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in ("ok", "warn", "fail")}
    failed = counts["fail"]
    verdict = "fix the failures above" if failed else "everything needed works"
    shown = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    return f"{len(checks)} checks: {shown}; {verdict}"
