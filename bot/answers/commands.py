"""Self-service commands, once for every platform: parse the text, answer only about the asker.

Slack and Teams adapters resolve the asker to an email, call `answer`, and render the result.
Command text can never select another person: the only person-valued input is the asker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import update

from bot.digest.build import Digest, load_digest, shipped_summary
from bot.digest.ledger import shown_groups
from bot.errors import TokenworthError, UnknownPerson, UsageError
from bot.answers.me import MeReport, me_report
from bot.reads.person_weeks import people_weeks
from bot.core.metrics import PersonWeek
from bot.digest.guard import guard
from bot.runtime import Runtime
from bot.core.weeks import Week
from storage.engine import session_scope
from storage.models import Person
from bot.reads.queries import person_by_email, sources_for_person

TREND_WEEKS = 8
HELP = {
    "me [this-week|last-week|YYYY-Www|4w]": "your spend, tokens, outcomes, points and yield, your band in your team, and tips",
    "trend": "your last 8 weeks as a chart in your DM with the bot, plus the numbers",
    "preview": "exactly what your manager's weekly digest shows about you",
    "kudos on|off": "opt in or out of being named for what you shipped in the digest",
    "privacy": "what tokenworth stores about you, from which feeds, and for how long",
    "team [name] [YYYY-Www]": "the team digest, privately, for the team's configured managers",
    "help": "this list",
}


@dataclass(frozen=True)
class Answer:
    kind: str  # help, me, trend, preview, kudos, privacy, team, refusal, usage, unknown_person
    text: str
    me: MeReport | None = None
    reports: tuple[MeReport, ...] = ()
    trend: tuple[PersonWeek, ...] = ()
    digest: Digest | None = None
    data: dict[str, Any] = field(default_factory=dict)


def help_text(prefix: str = "/tokenworth") -> str:
    lines = [f"*{prefix} {usage}*: {what}" for usage, what in HELP.items()]
    return "Outcomes per dollar, only about you, only to you.\n" + "\n".join(lines)


def answer(runtime: Runtime, email: str | None, text: str, now: datetime | None = None, prefix: str = "/tokenworth") -> Answer:
    """The reply to a command typed by the person with this email (None: not linked yet)."""
    words = [w.lower() for w in _words(text)]
    verb, args = (words[0], words[1:]) if words else ("help", [])
    if verb in ("help", "?"):
        return Answer("help", help_text(prefix))
    if verb not in ("me", "trend", "preview", "kudos", "privacy", "team"):
        return Answer("usage", f"I don't know {_quoted(verb)}.\n{help_text(prefix)}")
    if email is None:
        return _not_linked()
    runtime.config  # noqa: B018 - the directory follows the config before anyone is looked up
    try:
        return _dispatch(runtime, email, verb, args, now or datetime.now(timezone.utc), prefix)
    except UnknownPerson:
        return _not_linked()
    except UsageError as exc:
        return Answer("usage", f"{exc}\n{help_text(prefix)}")


def _dispatch(runtime: Runtime, email: str, verb: str, args: list[str], now: datetime, prefix: str) -> Answer:
    if verb == "me":
        return _me(runtime, email, args, now)
    if verb == "trend":
        return _trend(runtime, email, now)
    if verb == "preview":
        return _preview(runtime, email, now, prefix)
    if verb == "kudos":
        return _kudos(runtime, email, args)
    if verb == "privacy":
        return _privacy(runtime, email)
    return _team(runtime, email, args, now)


def _words(text: str) -> list[str]:
    # Mentions (<@U123|ana>) and links are never arguments: they cannot select another person.
    cleaned = re.sub(r"<[@#!][^>]*>", " ", text or "")
    return cleaned.split()[:4]


def _quoted(word: str) -> str:
    """Echo a mistyped command only when it looks like one; never echo addresses or markup back."""
    return f"`{word}`" if re.fullmatch(r"[a-z0-9-]{1,20}", word) else "that command"


def _not_linked() -> Answer:
    return Answer("unknown_person", (
        "I can't find you in tokenworth's directory yet. Ask your tokenworth admin to add your work email "
        "to the config's `people:` (or `tokenworth people import`), then try again."
    ))


def parse_period(args: list[str], now: datetime) -> list[Week]:
    current = Week.of(now)
    if not args or args[0] in ("this-week", "this", "week"):
        return [current]
    if args[0] in ("last-week", "last"):
        return [current.shift(-1)]
    if re.fullmatch(r"\d+w", args[0]):
        count = int(args[0][:-1])
        if not 1 <= count <= 12:
            raise UsageError("a period of weeks must be between 1w and 12w")
        return [current.shift(-back) for back in range(count - 1, -1, -1)]
    if not _is_week(args[0]):
        raise UsageError("Say `me`, `me last-week`, `me 4w` or `me YYYY-Www` (for example 2026-W47).")
    return [Week.parse(args[0].upper())]


def _is_week(word: str) -> bool:
    return re.fullmatch(r"\d{4}-w\d{2}", word, re.IGNORECASE) is not None


def _me(runtime: Runtime, email: str, args: list[str], now: datetime) -> Answer:
    weeks = parse_period(args, now)
    with session_scope(runtime.engine) as session:
        reports = tuple(me_report(session, runtime.config, runtime.prices, email, w) for w in weeks)
    from bot.answers.text import me_text, period_text

    text = me_text(reports[0]) if len(reports) == 1 else period_text(reports)
    return Answer("me", text, me=reports[-1], reports=reports)


def _trend(runtime: Runtime, email: str, now: datetime) -> Answer:
    current = Week.of(now)
    weeks = [current.shift(-back) for back in range(TREND_WEEKS - 1, -1, -1)]
    with session_scope(runtime.engine) as session:
        person = _person(session, email)
        figures = people_weeks(session, runtime.config, runtime.prices, [person.id], weeks)  # type: ignore[list-item]
    trend = tuple(figures[(person.id, str(w))] for w in weeks)  # type: ignore[index]
    lines = [f"{w.week}: ${w.spend_usd:,.2f} spend, {w.outcome_points:g} points" for w in trend]
    return Answer("trend", "Your last 8 weeks:\n" + "\n".join(lines), trend=trend)


def _preview(runtime: Runtime, email: str, now: datetime, prefix: str) -> Answer:
    week = Week.of(now).shift(-1)
    with session_scope(runtime.engine) as session:
        person = _person(session, email)
        if person.team is None:
            return Answer("preview", "You are not in a team, so no manager digest includes you.")
        digest = load_digest(session, runtime.config, runtime.prices, person.team, week)
        mine = people_weeks(session, runtime.config, runtime.prices, [person.id], [week])[(person.id, str(week))]  # type: ignore[list-item, index]
    if digest.suppressed:
        text = (f"Last week's digest for {person.team} showed no team figures (fewer than "
                f"{digest.min_group_size} people active), so nothing about you.")
    else:
        text = (f"Last week's digest for {person.team} includes you only inside team totals of "
                f"{digest.current.people_active} people, and flags only as counts.")
        shipped = shipped_summary(mine)
        if person.kudos_opt_in and shipped:
            text += f" You opted in to kudos, so it names you: \"{person.name or person.email}: {shipped}\"."
        elif person.kudos_opt_in:
            text += " You opted in to kudos; you'd be named when you ship something."
        else:
            text += f" It never names you. `{(prefix + ' kudos on').strip()}` lets it name what you shipped."
    return Answer("preview", text, digest=digest)


def _kudos(runtime: Runtime, email: str, args: list[str]) -> Answer:
    if not args or args[0].lower() not in ("on", "off"):
        raise UsageError("Say `kudos on` or `kudos off`.")
    on = args[0].lower() == "on"
    with session_scope(runtime.engine) as session:
        person = _person(session, email)
        session.execute(update(Person).where(Person.id == person.id).values(kudos_opt_in=on))  # type: ignore[arg-type]
    text = ("Kudos on: the weekly digest may name you for what you shipped (never for usage)." if on
            else "Kudos off: the weekly digest will not name you.")
    return Answer("kudos", text, data={"kudos": on})


def _privacy(runtime: Runtime, email: str) -> Answer:
    with session_scope(runtime.engine) as session:
        person = _person(session, email)
        sources = sources_for_person(session, person.id)  # type: ignore[arg-type]
    feeds = ", ".join(sources) if sources else "no feed yet"
    text = (
        "What tokenworth stores about you: AI usage per day, tool and model (tokens, requests, list-price "
        "value), activity counts (sessions, lines, accepted and rejected suggestions), outcomes (merged PRs, "
        f"reverts, closed tickets) and the feed identities that map to you. Feeds with data about you: {feeds}. "
        "No prompts, code or messages are stored. Your own numbers go only to you; anything shown to others "
        f"covers at least {runtime.config.policy.min_group_size} people and never ranks anyone. Data is kept "
        "until your admin deletes it; there is no automatic expiry yet."
    )
    return Answer("privacy", text, data={"sources": sources})


def _team(runtime: Runtime, email: str, args: list[str], now: datetime) -> Answer:
    with session_scope(runtime.engine) as session:
        person = _person(session, email)
        name = args[0] if args and not _is_week(args[0]) else person.team
        week = Week.parse(args[-1].upper()) if args and _is_week(args[-1]) else Week.of(now).shift(-1)
        team = next((t for t in runtime.config.teams if name and t.name.lower() == name.lower()), None)
        if team is None or email.lower() not in {m.lower() for m in team.managers}:
            return Answer("refusal", "Sorry, the team digest is only for that team's configured managers.")
        digest = load_digest(session, runtime.config, runtime.prices, team.name, week)
    digest = guard(digest, shown_groups(runtime.engine, team.name, str(week)))
    from bot.digest.text import digest_text

    return Answer("team", digest_text(digest), digest=digest)


def _person(session: Any, email: str) -> Person:
    person = person_by_email(session, email)
    if person is None or person.id is None:
        raise UnknownPerson(email)
    return person


__all__ = ["Answer", "answer", "help_text", "TokenworthError"]
