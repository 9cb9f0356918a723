"""A deterministic demo org, written in the vendors' own formats, and the `make demo` job over it."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.core.prices import PriceTable, Tokens
from bot.core.weeks import Week, last_full_week
from bot.demo.feeds import write_more_tools
from bot.errors import UsageError

TEAM_NAMES = ("platform", "product", "payments", "growth", "data", "mobile", "infra", "search", "identity", "billing")
ZONES = ("Europe/Berlin", "America/New_York", "UTC", "Asia/Tokyo")
FIRST = ("ana", "ben", "cara", "dev", "eli", "fay", "gus", "hana", "ivo", "jun", "kai", "lea", "mo", "noa",
         "oli", "pia", "quin", "rui", "sam", "tao", "uma", "vic", "wen", "xia", "yan", "zoe")
LAST = ("alvarez", "brooks", "chen", "desai", "evans", "fischer", "garcia", "haddad", "ito", "jensen",
        "kowalski", "lopez", "moreau", "nakamura", "okafor", "petrov")


@dataclass(frozen=True)
class Persona:
    name: str
    models: tuple[tuple[str, float], ...]  # model and its share of days
    daily_input: tuple[int, int]  # uncached input tokens per working day
    merges_per_week: tuple[int, int]
    revert_chance: float


PERSONAS = {
    "efficient": Persona(
        "efficient", (("claude-sonnet-4-6", 0.6), ("claude-haiku-4-5", 0.4)), (60_000, 200_000), (4, 7), 0.02
    ),
    "ordinary": Persona(
        "ordinary", (("claude-sonnet-4-6", 0.8), ("claude-opus-4-6", 0.2)), (150_000, 400_000), (2, 4), 0.05
    ),
    "tokenmaxxer": Persona(
        "tokenmaxxer", (("claude-opus-4-6", 0.9), ("claude-sonnet-4-6", 0.1)), (800_000, 2_500_000), (0, 2), 0.25
    ),
}


@dataclass(frozen=True)
class DemoSpec:
    people: int = 24
    weeks: int = 8
    seed: int = 7
    end_week: Week | None = None


@dataclass(frozen=True)
class DemoPerson:
    email: str
    name: str
    login: str
    team: str
    persona: Persona


def write_demo_org(spec: DemoSpec, out: Path) -> str:
    """Write tokenworth.yml and feeds/ (Claude Code Analytics per day, GitHub pulls) under `out`."""
    if spec.people < 5:
        raise UsageError("--people must be at least 5: smaller teams never show figures")
    if not 1 <= spec.weeks <= 104:
        raise UsageError("--weeks must be between 1 and 104")
    rng = random.Random(spec.seed)
    people = _people(spec.people, rng)
    end = spec.end_week or last_full_week()
    days = [end.shift(1 - spec.weeks).monday + timedelta(days=n) for n in range(7 * spec.weeks)]
    feeds = out / "feeds" / "claude_code_analytics"
    feeds.mkdir(parents=True, exist_ok=True)
    prices = PriceTable.builtin()
    for day in days:
        records = [r for p in people if (r := _claude_code_record(p, day, rng, prices))]
        records.append(_ci_record(day, rng, prices))
        page = {"data": records, "has_more": False, "next_page": None}
        (feeds / f"{day}.json").write_text(json.dumps(page, indent=1), encoding="utf-8")
    write_more_tools(people, days, rng, prices, out / "feeds")
    pulls = _pulls(people, days, rng)
    (out / "feeds" / "github_pulls.json").write_text(json.dumps(pulls, indent=1), encoding="utf-8")
    (out / "tokenworth.yml").write_text(yaml.safe_dump(_config(people), sort_keys=False), encoding="utf-8")
    teams = sorted({p.team for p in people})
    return (f"Wrote a demo org of {len(people)} people in {len(teams)} teams, weeks {Week.of(days[0])}..{end}, "
            f"to {out} (config: {out / 'tokenworth.yml'}, feeds: {out / 'feeds'})")


def _people(count: int, rng: random.Random) -> list[DemoPerson]:
    team_count = max(1, count // 6)
    people = []
    for index in range(count):
        first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST) + index) % len(LAST)]
        suffix = "" if index < len(FIRST) else str(index // len(FIRST))
        team = TEAM_NAMES[index % team_count] if team_count <= len(TEAM_NAMES) else f"team-{index % team_count}"
        persona = _persona(index, team_count, rng)
        people.append(DemoPerson(f"{first}{suffix}@demo.test", f"{first.title()} {last.title()}",
                                 f"{first}{suffix}-{last}", team, persona))
    return people


def _persona(index: int, team_count: int, rng: random.Random) -> Persona:
    position = index // team_count  # the person's place within their team
    if position == 1:
        return PERSONAS["tokenmaxxer"]  # every team has one
    if position in (0, 4):
        return PERSONAS["efficient"]
    return PERSONAS["tokenmaxxer"] if rng.random() < 0.1 else PERSONAS["ordinary"]


def _claude_code_record(person: DemoPerson, day: date, rng: random.Random, prices: PriceTable) -> dict[str, Any] | None:
    weekend = day.weekday() >= 5
    works = rng.random() < (0.15 if weekend else 0.9) * (1.5 if person.persona.name == "tokenmaxxer" else 1)
    if not works:
        return None
    model = _pick([m for m, _ in person.persona.models], [w for _, w in person.persona.models], rng)
    uncached = rng.randint(*person.persona.daily_input)
    tokens = Tokens(input=uncached, output=uncached // rng.randint(2, 4), cache_read=uncached * rng.randint(8, 20),
                    cache_write=uncached * rng.randint(1, 3))
    cents = round((prices.cost(model, tokens) or 0.0) * 100, 2)
    accepted = rng.randint(5, 60)
    return {
        "actor": {"type": "user_actor", "email_address": person.email},
        "core_metrics": {
            "commits_by_claude_code": rng.randint(0, 5), "num_sessions": rng.randint(1, 12),
            "lines_of_code": {"added": rng.randint(10, 900), "removed": rng.randint(0, 300)},
            "pull_requests_by_claude_code": rng.randint(0, 2),
        },
        "customer_type": "api", "subscription_type": None,
        "date": f"{day}T00:00:00Z", "is_remote": False, "terminal_type": rng.choice(("vscode", "iTerm.app", "tmux")),
        "organization_id": "00000000-0000-4000-8000-000000000001",
        "model_breakdown": [{
            "estimated_cost": {"amount": cents, "currency": "USD"}, "model": model,
            "tokens": {"cache_creation": tokens.cache_write, "cache_read": tokens.cache_read,
                       "input": tokens.input, "output": tokens.output},
        }],
        "tool_actions": {
            "edit_tool": {"accepted": accepted, "rejected": rng.randint(0, accepted // 3)},
            "write_tool": {"accepted": rng.randint(0, 10), "rejected": rng.randint(0, 3)},
        },
    }


def _ci_record(day: date, rng: random.Random, prices: PriceTable) -> dict[str, Any]:
    """A CI review bot on an API key: usage that belongs to nobody."""
    tokens = Tokens(input=rng.randint(5_000, 30_000), output=rng.randint(1_000, 6_000))
    cents = round((prices.cost("claude-haiku-4-5", tokens) or 0.0) * 100, 2)
    return {
        "actor": {"type": "api_actor", "api_key_name": "ci-pr-review"},
        "core_metrics": {"commits_by_claude_code": 0, "num_sessions": 1, "pull_requests_by_claude_code": 0,
                         "lines_of_code": {"added": 0, "removed": 0}},
        "customer_type": "api", "subscription_type": None, "date": f"{day}T00:00:00Z", "is_remote": False,
        "terminal_type": "non-interactive", "organization_id": "00000000-0000-4000-8000-000000000001",
        "model_breakdown": [{
            "estimated_cost": {"amount": cents, "currency": "USD"}, "model": "claude-haiku-4-5-20251001",
            "tokens": {"cache_creation": 0, "cache_read": 0, "input": tokens.input, "output": tokens.output},
        }],
        "tool_actions": {},
    }


def _pulls(people: list[DemoPerson], days: list[date], rng: random.Random) -> list[dict[str, Any]]:
    pulls: list[dict[str, Any]] = []
    number = 1000
    workdays = [d for d in days if d.weekday() < 5]
    for week_start in range(0, len(days), 7):
        week_days = [d for d in workdays if days[week_start] <= d < days[week_start] + timedelta(days=7)]
        for person in people:
            for _ in range(rng.randint(*person.persona.merges_per_week)):
                number += 1
                merged = _moment(rng.choice(week_days), rng)
                pulls.append(_pull(number, person.login, f"Ship change {number}", merged,
                                   f"{person.login}/change-{number}"))
                if rng.random() < person.persona.revert_chance:
                    number += 1
                    reverter = rng.choice([p for p in people if p.team == person.team and p != person])
                    reverted_at = min(merged + timedelta(days=rng.randint(1, 3)), _moment(days[-1], rng))
                    pulls.append(_pull(number, reverter.login, f'Revert "Ship change {number - 1}"', reverted_at,
                                       f"revert-{number - 1}-{person.login}/change-{number - 1}",
                                       body=f"Reverts demo/app#{number - 1}"))
        number += 1
        bot_day = _moment(rng.choice(week_days), rng)
        pulls.append(_pull(number, "dependabot[bot]", "build(deps): bump a dependency", bot_day, f"dependabot/{number}",
                           bot=True))
    return sorted(pulls, key=lambda p: p["merged_at"] or "", reverse=True)


def _pull(
    number: int, login: str, title: str, merged: datetime, branch: str, body: str = "", bot: bool = False
) -> dict[str, Any]:
    stamp = merged.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "url": f"https://api.github.com/repos/demo/app/pulls/{number}", "number": number, "state": "closed",
        "title": title, "body": body, "user": {"login": login, "type": "Bot" if bot else "User"},
        "created_at": stamp, "updated_at": stamp, "closed_at": stamp, "merged_at": stamp,
        "head": {"ref": branch}, "base": {"ref": "main", "repo": {"full_name": "demo/app"}},
    }


def _moment(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), tzinfo=UTC)


def _pick(options: list[str], weights: list[float], rng: random.Random) -> str:
    return rng.choices(options, weights=weights, k=1)[0]


def _config(people: list[DemoPerson]) -> dict[str, Any]:
    teams = sorted({p.team for p in people}, key=lambda t: [p.team for p in people].index(t))
    return {
        "teams": [
            {"name": team, "slack_channel": f"#{team}-leads", "timezone": ZONES[i % len(ZONES)],
             "digest": {"day": "monday", "time": "09:00"}, "managers": [f"lead.{team}@demo.test"]}
            for i, team in enumerate(teams)
        ],
        "people": [
            {"email": p.email, "name": p.name, "team": p.team, "aliases": {"github": p.login}} for p in people
        ],
        "policy": {"points": {"pr_merged": 3, "pr_reverted": -3, "ticket_closed": 1}, "min_group_size": 5},
    }


def run_demo(runtime: Any, out: Path, data: Path, echo: Callable[[str], None]) -> None:
    """The main job, end to end, with no credentials: generate, ingest, preview each team, answer `me`."""
    from bot.answers.me import me_report
    from bot.answers.text import me_text
    from bot.digest.admin import admin_text
    from bot.digest.text import digest_text
    from bot.ingest.files import ingest_paths
    from bot.people.directory import prepare
    from bot.runtime import Runtime
    from bot.slack.preview import write_admin_preview, write_preview
    from storage.engine import session_scope

    echo(write_demo_org(DemoSpec(), data))
    demo = Runtime(runtime.settings, runtime.db_url, str(data / "tokenworth.yml"))
    prepare(demo)
    config = demo.config
    reports = ingest_paths(demo.engine, [data / "feeds"])
    echo(f"Ingested {sum(r.records for r in reports)} records from {len(reports)} files "
         f"({sum(r.rejected for r in reports)} rejected).")
    week = last_full_week()
    _publish_history(demo, week)
    for team in config.teams:
        digest = write_preview(demo, team.name, week, out / team.name)
        echo("\n" + digest_text(digest))
    echo("\n" + admin_text(write_admin_preview(demo, week, out / "admin")))
    person = config.people[0]
    with session_scope(demo.engine) as session:
        echo("\n/tokenworth me, as " + person.email + " would see it privately:\n"
             + me_text(me_report(session, config, demo.prices, person.email, week)))
    echo(f"\nPreviews (Block Kit JSON and PNG charts) are in {out}/<team>/, the admin digest in {out}/admin/.")


def _publish_history(demo: Any, week: Week) -> None:
    """The weeks before the previewed one, published as the weekly digests would have published them,
    so the preview's history chart and "vs last week" read from snapshots as they do in production."""
    from bot.digest.build import load_digest
    from bot.digest.publish import publish_digest
    from storage.engine import session_scope

    for team in demo.config.teams:
        for back in range(DemoSpec().weeks - 1, 0, -1):
            with session_scope(demo.engine) as session:
                digest = load_digest(session, demo.config, demo.prices, team.name, week.shift(-back))
            publish_digest(demo.engine, digest)
