"""`tokenworth dpia`: the DPIA and works-council pack, generated from the running config and database.

Invariants: every figure in the pack is read from the config, the registered feeds or the database
when it is generated (counts of rows, people, showings; never a person's figure or name); the
database URL is shown with its password redacted; and the pack carries NOT_FOR_EVALUATION.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from bot import __version__
from bot.config.org import OrgConfig
from bot.errors import UsageError
from bot.governance import NOT_FOR_EVALUATION
from bot.governance.access import showings, summary
from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.github_pulls import FILES_SOURCE
from bot.ingest.feeds.github_pulls import SOURCE as GITHUB
from storage.engine import session_scope
from storage.models import Activity, Billed, Erasure, Outcome, Person, Seat, Usage, WorkDetail, table

PRIVACY_LINK = "README.md#privacy"
RENDER_SECONDS = 120
USAGE = "AI usage per identity and day: tool, model, tokens, requests, list-price value"
ACTIVITY = "activity counts per identity and day"
LEDGER = "the org's billed ledger (no person)"
# What each registered feed stores; a feed missing here is reported as undescribed (and fails a test).
FEED_CATEGORIES: dict[str, str] = {
    "claude_code": f"{USAGE}; {ACTIVITY} (sessions, lines, commits, PRs, accepted/rejected edits); by email or "
                   "API key name",
    "claude_code_otel": f"{USAGE}; {ACTIVITY}; links between email, account id and OTel user id",
    "anthropic_usage": f"{USAGE}; web searches; by account, API key or workspace",
    "anthropic_cost": LEDGER,
    "openai_usage": f"{USAGE}; by user, API key or project",
    "openai_costs": LEDGER,
    "litellm": f"{USAGE}, summed per day (never one row per request; a request id is kept only as a 16-byte "
               "hash, for ingest.dedup_days, to count it once); by gateway user or key",
    "cursor_daily": f"{ACTIVITY} (requests, lines, accepted suggestions); by email",
    "cursor_events": f"{USAGE}, summed per day (each event id kept only as a 16-byte hash, to count it once); "
                     "by email",
    "copilot_usage": f"{ACTIVITY} (interactions, suggestions, acceptances, lines); CLI tokens; by GitHub login",
    "copilot_seats": "paid seats: GitHub login, plan, monthly price, last activity, pending cancellation",
    "copilot_metrics": "org-level counts of active and engaged users per day (no person)",
    "focus": LEDGER,
    "usage_csv": f"{USAGE}; by the identity each row names",
    "github": "merged and reverted pull requests: author login, title, merge time; work details: when opened, "
              "labels, head branch, lines added and deleted, the ticket keys its description closes, the paths of "
              "the files it changed (never their contents)",
    "jira": "closed tickets: assignee account id or email, story points, resolution time; work details: issue type, "
            "labels, and from the changelog when work started, when it was first done and when it was reopened",
    "linear": "completed issues: assignee id or email, estimate, completion time; work details: labels, branch "
              "name, and from the state history when work started, when it was first completed and when it was "
              "reopened",
    "outcomes_csv": "merged PRs and closed tickets by email or identity",
    "claude_enterprise": f"{USAGE} of Enterprise seats, per product (chat, Claude Code, ...); by email, with the "
                         "Analytics user id linked to it",
    "claude_enterprise_cost": LEDGER,
    "codex_usage": f"{USAGE}; {ACTIVITY} (Codex threads, turns, credits, lines added); by email",
    "copilot_credit_billing": LEDGER,
    "litellm_daily": f"{USAGE} per day, API key and model (the gateway's own aggregates); by LiteLLM user, key "
                     "alias or hashed key",
    "cursor_ai_commits": f"{ACTIVITY} per commit (commit id and repository; lines added by tab completion, by the "
                         "agent and without AI); by Cursor email",
}
RENDERERS = (("pandoc", ("pandoc", "{md}", "-o", "{pdf}")),
             ("libreoffice", ("libreoffice", "--headless", "--convert-to", "pdf", "--outdir", "{dir}", "{md}")),
             ("soffice", ("soffice", "--headless", "--convert-to", "pdf", "--outdir", "{dir}", "{md}")))


@dataclass(frozen=True)
class TeamFacts:
    name: str
    people: int
    managers: int
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Facts:
    """Everything the pack says that depends on this deployment."""

    generated_at: datetime
    config_path: str
    database: str
    min_group_size: int
    retention_days: int
    teams: tuple[TeamFacts, ...]
    people: int  # in the directory (the database), configured or not yet forgotten
    stored: dict[str, int]  # rows per feed
    showings: tuple[tuple[str, str, int], ...]  # (surface, audience kind, count)
    first_showing: datetime | None
    erasures: int


def gather(engine: Engine, config: OrgConfig, config_path: str, now: datetime | None = None) -> Facts:
    teams = tuple(
        TeamFacts(t.name, len(config.members(t.name)), len(t.managers),
                  tuple(c for c in (t.slack_channel and f"Slack {t.slack_channel}",
                                    t.teams_channel and f"Teams {t.teams_channel}") if c))
        for t in config.teams
    )
    with session_scope(engine) as session:
        log = showings(session)
        people = session.execute(select(func.count()).select_from(table(Person))).scalar_one()
        erasures = session.execute(select(func.count()).select_from(table(Erasure))).scalar_one()
        stored: dict[str, int] = {}
        for model in (Usage, Activity, Outcome, Seat, Billed, WorkDetail):
            t = table(model)
            for source, rows in session.execute(select(t.c.source, func.count()).group_by(t.c.source)):
                feed = GITHUB if source == FILES_SOURCE else source  # a PR's files are the github feed's
                stored[feed] = stored.get(feed, 0) + int(rows)
    first = log[0]["at"] if log else None
    return Facts(
        generated_at=now or datetime.now(UTC), config_path=config_path,
        database=engine.url.render_as_string(hide_password=True), min_group_size=config.policy.min_group_size,
        retention_days=config.retention.days, teams=teams, people=int(people), stored=stored,
        showings=tuple(summary(log)), first_showing=first if isinstance(first, datetime) else None,
        erasures=int(erasures),
    )


def render(facts: Facts) -> str:
    """The pack as Markdown, one section per question a DPIA or a works council asks."""
    parts = [_intro(facts), _purposes(), _feeds(facts), _grain(facts), _rules(facts), _retention(facts),
             _access(facts), _storage(facts), _assessment()]
    return "\n\n".join(parts) + "\n"


def _intro(f: Facts) -> str:
    return (
        "# tokenworth: data protection impact assessment and works-council pack\n\n"
        f"Generated {f.generated_at:%Y-%m-%d %H:%M} UTC by tokenworth {__version__} from the config "
        f"`{f.config_path}` and the database `{f.database}`. Regenerate it after changing either "
        "(`tokenworth dpia --out DIR`). Fill in the controller, the data protection officer and the date of the "
        "works-council agreement before filing it.\n\n"
        f"**{NOT_FOR_EVALUATION}**"
    )


def _purposes() -> str:
    return "\n".join([
        "## 1. Purposes",
        "",
        "- Show each team, as a group, what its AI tools cost against what it shipped (outcome points per $100), "
        "so spending follows outcomes instead of tokens burned.",
        "- Show each person, privately, their own usage, outcomes and tips (for example a cheaper model tier).",
        "- Reconcile list-price usage with the vendors' bills for finance (org level).",
        "",
        "Not a purpose: ranking people, evaluating individual performance, or any employment decision. "
        "tokenworth stores no prompts, code, file contents or messages (of a merged pull request it keeps the "
        "paths of the files it changed and how many lines, to tell which later fix touched the same work).",
    ])


def _feeds(f: Facts) -> str:
    rows = ["## 2. Data categories by feed", "",
            "Feeds are files or vendor APIs an admin connects; only the feeds with stored rows are in use.", "",
            "| feed | data stored | rows stored now |", "|---|---|---|"]
    for name in FEEDS:
        what = FEED_CATEGORIES.get(name, "not described yet: treat as per-person usage data")
        rows.append(f"| `{name}` | {what} | {f.stored.get(name, 0):,} |")
    rows += ["", f"People in the directory: {f.people} (name, work email, team, feed identities, Slack user id, "
             "kudos opt-in). Usage is stored per feed identity; identities point at people."]
    return "\n".join(rows)


def _grain(f: Facts) -> str:
    rows = [
        "## 3. Who sees what, at which grain", "",
        "| who | sees | grain |", "|---|---|---|",
        "| each person | their own figures: spend, tokens, outcomes, points, yield, flags with tips, where they "
        "stand in their team | one person, only to that person (`me`, `trend`, `preview`, `privacy`, App Home) |",
        f"| a team's managers and manager channel | the weekly digest and `team`: team figures, breakdowns, "
        f"flags as counts, kudos for people who opted in | the team, only when at least {f.min_group_size} people "
        "are active, with subgroup floors |",
        "| admins (command line) | org-level reconciliation, the identity listing, `audit`, this pack | the org |",
        "",
        "Admins who can run the command line against the database can also read any person's own figures "
        "(`tokenworth me --email`): restrict that access as you restrict the database.",
        "",
        "| team | people (config) | managers | digest posted to | team figures |", "|---|---|---|---|---|",
    ]
    for t in f.teams:
        shown = (f"when at least {f.min_group_size} are active" if t.people >= f.min_group_size
                 else "never: fewer people than the floor")
        rows.append(f"| {t.name} | {t.people} | {t.managers} | {', '.join(t.channels) or '-'} | {shown} |")
    return "\n".join(rows)


def _rules(f: Facts) -> str:
    return "\n".join([
        "## 4. Privacy floor and disclosure rules", "",
        f"`min_group_size` is {f.min_group_size} (config `policy.min_group_size`; below 5 is refused). The rules, "
        f"stated in full in the README ([Privacy]({PRIVACY_LINK})):", "",
        f"- every figure shown to anyone but the person covers at least {f.min_group_size} people;",
        "- a team-week is published once and every later showing serves that snapshot, so two showings cannot "
        "be subtracted to reveal one person;",
        "- a breakdown (tool, tier, model, flag, kudos) is shown only when the subgroup and the rest of the team "
        f"each hold at least {f.min_group_size} people;",
        "- no ranking of people anywhere; a person's position is shown only as a band that is itself a group;",
        "- flags are shown to others only as counts; kudos name only people who opted in.",
    ])


def _retention(f: Facts) -> str:
    return "\n".join([
        "## 5. Retention and erasure", "",
        f"- Per-person usage, activity, outcomes (with their work details) and seats are deleted {f.retention_days} "
        "days after the day they describe (config `retention.days`): `tokenworth serve` purges daily, "
        "`tokenworth purge` on demand. "
        "Rejected-record reasons, expired chart images and feed identities left without rows go too.",
        "- Kept: published team snapshots (aggregates), the vendors' billed ledger (org level), and the access "
        "log (no figures; kept without limit, as the record of who was shown what).",
        "- `tokenworth forget --email E` erases a person on request: their rows, identities and links, the "
        "person, their Slack link and Teams personal chat. The erasure log keeps only hashes, and a later ingest "
        "drops records of the erased identities.",
        f"- Erasures logged so far: {f.erasures}.",
    ])


def _access(f: Facts) -> str:
    rows = ["## 6. Access log", "",
            "Every showing of team figures is logged (surface, audience, team, week, time); `tokenworth audit` "
            "lists it, `/tokenworth privacy` tells each person how often figures including them were shown."]
    if not f.showings:
        return "\n".join([*rows, "", "No showings are logged yet."])
    since = f" since {f.first_showing:%Y-%m-%d}" if f.first_showing else ""
    rows += ["", f"Showings{since}:", "", "| surface | audience | showings |", "|---|---|---|"]
    rows += [f"| {surface} | {kind} | {count:,} |" for surface, kind, count in f.showings]
    return "\n".join(rows)


def _storage(f: Facts) -> str:
    return "\n".join([
        "## 7. Where the data is stored", "",
        f"- Database: `{f.database}` (password redacted). Everything above lives there and nowhere else; "
        "tokenworth sends figures only to the configured Slack and Teams channels and to each person privately.",
        f"- Org config: `{f.config_path}` (teams, people, aliases, policy).",
        "- Vendor API keys and chat tokens come from the environment and are never stored or logged.",
    ])


def _assessment() -> str:
    return "\n".join([
        "## 8. For the works council and the DPIA", "",
        "- tokenworth is a system objectively able to monitor employees (§87(1) no. 6 BetrVG): agree its use "
        "with the works council before connecting feeds.",
        "- Systematic monitoring of employees needs a DPIA (GDPR Art. 35): this pack gives the facts of this "
        "deployment; the assessment of necessity and the residual risks are yours.",
        f"- {NOT_FOR_EVALUATION} The same statement is in every digest's footer and in the README.",
    ])


def write_pack(out: Path, markdown: str) -> tuple[list[Path], str]:
    """Write DIR/dpia.md, and DIR/dpia.pdf when a renderer is installed; the paths, and a note on the PDF."""
    md = out / "dpia.md"
    try:
        out.mkdir(parents=True, exist_ok=True)
        md.write_text(markdown, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write the pack there: {exc.strerror or exc}") from None
    pdf, note = render_pdf(md)
    return ([md, pdf] if pdf else [md]), note


def render_pdf(md: Path, renderers: Sequence[tuple[str, tuple[str, ...]]] = RENDERERS) -> tuple[Path | None, str]:
    """The first renderer on PATH that produces the PDF wins; otherwise why there is none."""
    pdf = md.with_suffix(".pdf")
    failures = []
    for name, template in renderers:
        if shutil.which(template[0]) is None:
            continue
        argv = [part.format(md=md, pdf=pdf, dir=md.parent) for part in template]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=RENDER_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            failures.append(f"{name}: {exc}")
            continue
        if done.returncode == 0 and pdf.exists():
            return pdf, f"PDF rendered by {name}"
        failures.append(f"{name}: exit {done.returncode}: {(done.stderr or '').strip()[-200:]}")
    if failures:
        return None, "no PDF: " + "; ".join(failures)
    return None, "no PDF: no renderer (pandoc or libreoffice) on PATH; the Markdown is the pack"
