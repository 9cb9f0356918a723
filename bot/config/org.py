"""The org config (YAML): teams, people and their feed aliases, scoring policy, prices."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from bot.config.base import Strict as _Strict
from bot.config.finops import (
    BUILTIN_OUTCOME_KINDS,
    SEAT_PRICES,
    SLUG,
    Alerts,
    Budgets,
    WorkflowConfig,
    check_workflows,
)
from bot.errors import ConfigError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALIAS_KINDS = (
    "github", "github_id", "cursor", "anthropic_account", "api_keys", "openai_user",
    "litellm", "linear", "jira", "otel", "slack", "teams",
)
Tier = Literal["frontier", "standard", "economy"]
DEFAULT_RETENTION_DAYS = 400
MIN_RETENTION_DAYS = 120  # 12 weeks of `me`, plus the 4 weeks its spike flag compares against, and some slack




class DigestSchedule(_Strict):
    day: str = "monday"
    time: str = "09:00"

    @field_validator("day")
    @classmethod
    def _day_name(cls, value: str) -> str:
        # Names, never numbers: APScheduler 3 reads day_of_week 0 as Monday even in crontab strings.
        day = value.strip().lower()
        if day not in DAYS:
            raise ValueError(f"must be a day name ({', '.join(DAYS)}), not {value!r}")
        return day

    @field_validator("time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.fullmatch(r"\d{1,2}:\d{2}", value):
            raise ValueError(f"must be HH:MM, not {value!r}")
        hour, minute = map(int, value.split(":"))
        time(hour, minute)  # raises ValueError on 25:00
        return f"{hour:02d}:{minute:02d}"


class TeamConfig(_Strict):
    name: str = Field(min_length=1)
    slack_channel: str | None = None
    teams_channel: str | None = None
    timezone: str = "UTC"
    digest: DigestSchedule = DigestSchedule()
    managers: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)") from None
        return value


class AdminChannel(_Strict):
    """Where the weekly admin digest goes (org-level lines no team manager acts on): Slack and/or Teams."""

    slack_channel: str | None = None
    teams_channel: str | None = None
    timezone: str = "UTC"
    digest: DigestSchedule = DigestSchedule()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return TeamConfig._zone(value)

    @model_validator(mode="after")
    def _somewhere(self) -> AdminChannel:
        if not (self.slack_channel or self.teams_channel):
            raise ValueError("admin_channel needs a slack_channel, a teams_channel, or both")
        return self


class PersonConfig(_Strict):
    email: str
    name: str | None = None
    team: str | None = None
    aliases: dict[str, tuple[str, ...]] = {}

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError(f"{value!r} is not an email address")
        return value.strip().lower()

    @field_validator("aliases", mode="before")
    @classmethod
    def _alias_lists(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(set(value) - set(ALIAS_KINDS))
        if unknown:
            raise ValueError(f"unknown alias kind {unknown[0]!r} (known: {', '.join(ALIAS_KINDS)})")
        return {k: [str(v)] if isinstance(v, (str, int)) else v for k, v in value.items()}


class Points(_Strict):
    pr_merged: float = 3
    pr_reverted: float = -3
    ticket_closed: float = 1


class Flags(_Strict):
    spend_without_outcomes_usd: float = 50
    frontier_share: float = Field(default=0.6, ge=0, le=1)
    spike_factor: float = Field(default=3, gt=1)


class Policy(_Strict):
    points: Points = Points()
    min_group_size: int = 5
    flags: Flags = Flags()
    standard_models: dict[str, str] = {"anthropic": "claude-sonnet-4-6", "openai": "gpt-5"}

    @field_validator("min_group_size")
    @classmethod
    def _privacy_floor(cls, value: int) -> int:
        if value < 5:
            raise ValueError("must be at least 5: smaller groups would expose individuals")
        return value


WorkKind = Literal["feat", "fix", "refactor", "perf", "test", "docs", "chore", "other"]
WORK_KINDS: tuple[WorkKind, ...] = ("feat", "fix", "refactor", "perf", "test", "docs", "chore", "other")
TITLE_PREFIXES: dict[str, WorkKind] = {
    "feat": "feat", "feature": "feat", "fix": "fix", "bugfix": "fix", "hotfix": "fix", "refactor": "refactor",
    "perf": "perf", "test": "test", "tests": "test", "docs": "docs", "doc": "docs", "chore": "chore",
    "build": "chore", "ci": "chore", "deps": "chore",
}
LABELS: dict[str, WorkKind] = {
    "feature": "feat", "enhancement": "feat", "improvement": "feat", "bug": "fix", "bugfix": "fix", "hotfix": "fix",
    "regression": "fix", "refactor": "refactor", "refactoring": "refactor", "tech debt": "refactor",
    "performance": "perf", "perf": "perf", "test": "test", "tests": "test", "testing": "test",
    "documentation": "docs", "docs": "docs", "chore": "chore", "dependencies": "chore", "ci": "chore",
    "build": "chore",
}
ISSUE_TYPES: dict[str, WorkKind] = {
    "bug": "fix", "defect": "fix", "incident": "fix", "story": "feat", "new feature": "feat", "feature": "feat",
    "improvement": "feat", "technical debt": "refactor", "tech debt": "refactor", "documentation": "docs",
    "test": "test", "chore": "chore",
}
_KIND_DEFAULTS = {"title_prefixes": TITLE_PREFIXES, "labels": LABELS, "issue_types": ISSUE_TYPES}


class WorkKinds(_Strict):
    """An outcome's kind: its conventional-commit title prefix, else its Jira issue type, else a label.

    Entries given in the config extend and override the defaults; map a default to `other` to switch it off.
    """

    title_prefixes: dict[str, WorkKind] = TITLE_PREFIXES
    dependency_titles: tuple[str, ...] = ("bump ", "update dependency ", "update module ")
    labels: dict[str, WorkKind] = LABELS
    issue_types: dict[str, WorkKind] = ISSUE_TYPES

    @field_validator("title_prefixes", "labels", "issue_types", mode="before")
    @classmethod
    def _extend_defaults(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            return value
        return {**_KIND_DEFAULTS[str(info.field_name)], **{str(k).strip().casefold(): v for k, v in value.items()}}

    @field_validator("dependency_titles")
    @classmethod
    def _folded(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.casefold() for v in value if v.strip())


class WorkSizes(_Strict):
    """An outcome's size: lines changed for a PR, story points or estimate for a ticket."""

    trivial_lines: int = Field(default=20, ge=0)
    small_lines: int = 200
    large_lines: int = 1000
    small_points: float = Field(default=2, ge=0)
    large_points: float = 8
    trivial_kinds: tuple[WorkKind, ...] = ("docs", "chore")

    @model_validator(mode="after")
    def _rising(self) -> WorkSizes:
        if not self.trivial_lines < self.small_lines < self.large_lines:
            raise ValueError("must rise: trivial_lines < small_lines < large_lines")
        if not self.small_points < self.large_points:
            raise ValueError("must rise: small_points < large_points")
        return self


class WorkClasses(_Strict):
    kinds: WorkKinds = WorkKinds()
    sizes: WorkSizes = WorkSizes()


class ReworkRules(_Strict):
    """A merged PR or closed ticket survives when nothing undoes it within `window_days`."""

    window_days: int = Field(default=21, ge=1, le=180)
    # files a follow-up fix touching them does not tie to earlier PRs (every PR touches them)
    ignore_files: tuple[str, ...] = ("CHANGELOG*", "*.lock", "package-lock.json", "go.sum")


class ModelFit(_Strict):
    """When the org's own outcomes count as evidence for a model tier in a work class."""

    min_outcomes: int = 10
    group_by: Literal["size", "kind_and_size"] = "size"

    @field_validator("min_outcomes")
    @classmethod
    def _enough(cls, value: int) -> int:
        if value < 5:
            raise ValueError("must be at least 5: a rework rate of fewer outcomes says nothing")
        return value


class PriceConfig(_Strict):
    provider: str
    tier: Tier
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write: float | None = Field(default=None, ge=0)
    cache_read: float | None = Field(default=None, ge=0)
    cache_write_1h: float | None = Field(default=None, ge=0)
    aliases: tuple[str, ...] = ()


class JiraConfig(_Strict):
    excluded_resolutions: tuple[str, ...] = ("Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined")
    story_points_field: str = "customfield_10016"


DEFAULT_DEDUP_DAYS = 35  # longer than any supported vendor re-sends or restates an event


class Retention(_Strict):
    """How long per-person rows (usage, activity, outcomes, seats) are kept, in days after the day they describe."""

    days: int = DEFAULT_RETENTION_DAYS

    @field_validator("days")
    @classmethod
    def _long_enough(cls, value: int) -> int:
        if value < MIN_RETENTION_DAYS:
            raise ValueError(f"must be at least {MIN_RETENTION_DAYS}: `me 12w`, its spike baseline and the digest's "
                             "history read that far back")
        return value


class Ingest(_Strict):
    """How long each usage event's key is remembered so a re-sent event counts once (README: Counted once)."""

    dedup_days: int = Field(default=DEFAULT_DEDUP_DAYS, ge=1, le=3650)


class OrgConfig(_Strict):
    teams: tuple[TeamConfig, ...] = ()
    people: tuple[PersonConfig, ...] = ()
    policy: Policy = Policy()
    retention: Retention = Retention()
    prices: dict[str, PriceConfig] = {}
    gateways: tuple[str, ...] = ()
    jira: JiraConfig = JiraConfig()
    work_classes: WorkClasses = WorkClasses()
    rework: ReworkRules = ReworkRules()
    model_fit: ModelFit = ModelFit()
    admin_channel: AdminChannel | None = None
    workflows: tuple[WorkflowConfig, ...] = ()  # first match wins
    outcome_kinds: dict[str, float] = {}  # workflow outcome kind: points per unit
    seats: dict[str, float] = SEAT_PRICES  # USD a seat a month, by tool_plan; extends the built-in prices
    budgets: Budgets = Budgets()
    alerts: Alerts = Alerts()
    ingest: Ingest = Ingest()

    @field_validator("outcome_kinds")
    @classmethod
    def _outcome_kinds(cls, value: dict[str, float]) -> dict[str, float]:
        for kind, points in value.items():
            if not SLUG.fullmatch(kind) or kind in BUILTIN_OUTCOME_KINDS:
                raise ValueError(f"{kind!r}: a new kind's name, in lower case ({', '.join(BUILTIN_OUTCOME_KINDS)} "
                                 "are scored by policy.points)")
            if points != points or abs(points) == float("inf"):
                raise ValueError(f"{kind}: points must be a finite number")
        return value

    @field_validator("seats", mode="before")
    @classmethod
    def _seat_prices(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for plan, price in value.items():
            if not isinstance(price, (int, float)) or not 0 <= price < float("inf"):
                raise ValueError(f"{plan}: a seat price is USD a month, not {price!r}")
        return {**SEAT_PRICES, **{str(k).strip().lower(): v for k, v in value.items()}}

    @model_validator(mode="after")
    def _consistent(self) -> OrgConfig:
        names = [t.name for t in self.teams]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"teams[{i}].name: team {name!r} is defined twice")
        seen: dict[tuple[str, str], str] = {}
        for i, person in enumerate(self.people):
            if person.team is not None and person.team not in names:
                raise ValueError(f"people[{i}].team: {person.email} names unknown team {person.team!r}")
            for kind, value in identities_of(person):
                owner = seen.setdefault((kind, value.lower()), person.email)
                if owner != person.email:
                    raise ValueError(
                        f"people[{i}].aliases.{kind}: {value!r} belongs to both {owner} and {person.email}"
                    )
        check_workflows(self, names, seen)
        return self

    def team(self, name: str) -> TeamConfig | None:
        return next((t for t in self.teams if t.name == name), None)

    def members(self, team: str) -> list[PersonConfig]:
        return [p for p in self.people if p.team == team]


def identities_of(person: PersonConfig) -> list[tuple[str, str]]:
    """Every (kind, value) identity of a person, email first; api_keys are stored as kind api_key."""
    found = [("email", person.email)]
    for kind, values in person.aliases.items():
        stored_kind = "api_key" if kind == "api_keys" else kind
        found.extend((stored_kind, v) for v in values)
    return found


def load_config(path: str | Path) -> OrgConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (set TOKENWORTH_CONFIG or pass --config)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(raw if raw is not None else {}, source=str(path))


def parse_config(raw: Any, source: str = "<config>") -> OrgConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping with teams, people, policy, prices")
    try:
        return OrgConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {_key_path(err['loc'])}: {_message(err)}" for err in exc.errors()]
        raise ConfigError("invalid config\n  " + "\n  ".join(lines)) from None


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")
