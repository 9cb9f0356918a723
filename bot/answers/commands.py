"""Self-service commands, once for every platform: parse the text, answer only about the asker.

Slack and Teams adapters resolve the asker to an email, call `answer`, and render the typed result.
Invariants: command text can never select another person (the only person-valued input is the
asker); answering never writes, except `kudos`, which changes the asker's own opt-in, and `team`,
which publishes the team-week's snapshot the first time its figures are shown and logs the showing;
and each answer reads its figures once (see `bot.reads.person_weeks`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session

from bot.answers.fit import work_fit
from bot.answers.me import me_reports, me_weeks, read_me
from bot.answers.preview import rules_for
from bot.answers.text import plain, say
from bot.answers.types import (
    Answer,
    Code,
    HelpAnswer,
    Home,
    KudosAnswer,
    Line,
    MeAnswer,
    NotLinked,
    PreviewAnswer,
    PrivacyAnswer,
    Refusal,
    TeamAnswer,
    TrendAnswer,
    UsageProblem,
)
from bot.config.org import TeamConfig
from bot.core.signals import idle_seats
from bot.core.weeks import Period, Week, is_period_word
from bot.core.weeks import parse_period as core_period
from bot.digest.build import digest_weeks, load_digest, member_flags, shipped_summary
from bot.digest.guard import guard
from bot.digest.ledger import shown_groups
from bot.digest.publish import log_showing, publish_digest
from bot.errors import TokenworthError, UnknownPerson, UsageError
from bot.reads.person_weeks import AskerWeeks, TeamWeeks, read_asker, span, team_weeks
from bot.reads.queries import person_by_email, seat_facts, sources_for_person
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import Person

TREND_WEEKS = 8
VERBS = ("me", "trend", "preview", "kudos", "privacy", "team")
HELP = {
    "me [this-week|last-week|YYYY-Www|4w]":
        "your spend, tokens, outcomes, points and yield, where you stand in your team, tips naming the model and "
        "setting to change, and your work by class beside your team's evidence",
    "trend": "your last 8 weeks as a chart in your DM with the bot, plus the numbers",
    "preview": "exactly what your manager's weekly digest shows about you",
    "kudos on|off": "opt in or out of being named for what you shipped in the digest",
    "privacy": "what tokenworth stores about you, for how long, and where figures including you were shown",
    "team [name] [last-week|YYYY-Www]": "the team digest, privately, for the team's configured managers",
    "help": "this list",
}


class Unreadable(UsageError):
    """A usage problem worded as spans, so the commands it suggests stay structured."""

    def __init__(self, problem: Line):
        super().__init__(plain(problem))
        self.problem = problem


def help_answer(prefix: str = "/tokenworth") -> HelpAnswer:
    return HelpAnswer(prefix, tuple(HELP.items()))


def answer(
    runtime: Runtime, email: str | None, text: str, now: datetime | None = None, prefix: str = "/tokenworth"
) -> Answer:
    """The reply to a command typed by the person with this email (None: not linked yet)."""
    words = [w.lower() for w in _words(text)]
    verb, args = (words[0], words[1:]) if words else ("help", [])
    if verb in ("help", "?"):
        return help_answer(prefix)
    if verb not in VERBS:
        return UsageProblem(_unknown(verb), help_answer(prefix))
    if email is None:
        return NotLinked()
    try:
        return _dispatch(runtime, email, verb, args, now or datetime.now(UTC), prefix)
    except UnknownPerson:
        return NotLinked()
    except Unreadable as exc:
        return UsageProblem(exc.problem, help_answer(prefix))
    except UsageError as exc:
        return UsageProblem((str(exc),), help_answer(prefix))


def home(runtime: Runtime, email: str | None, now: datetime | None = None) -> Home | NotLinked:
    """A personal home page: `me` and `trend` as the commands answer them, from one read."""
    if email is None:
        return NotLinked()
    now = now or datetime.now(UTC)
    current = Week.of(now)
    me, trend = core_period(None, now), _trend_period(current)
    try:
        with session_scope(runtime.engine) as session:
            read = read_asker(session, runtime.config, runtime.prices, email, [*me_weeks(me.reads), *trend.reads])
            me_answer = _me_answer(session, runtime, read, me, now)
    except UnknownPerson:
        return NotLinked()
    weeks = trend.settle(lambda week: read.mine(week).active)
    return Home(me_answer, TrendAnswer(tuple(read.mine(w) for w in weeks)))


def _dispatch(runtime: Runtime, email: str, verb: str, args: list[str], now: datetime, prefix: str) -> Answer:
    if verb == "me":
        return _me(runtime, email, args, now)
    if verb == "trend":
        return _trend(runtime, email, args, now)
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


def _unknown(verb: str) -> Line:
    """Echo a mistyped command only when it looks like one; never echo addresses or markup back."""
    if re.fullmatch(r"[a-z0-9-]{1,20}", verb):
        return ("I don't know ", Code(verb), ".")
    return ("I don't know that command.",)


def parse_period(args: list[str], now: datetime, verb: str = "me") -> Period:
    """The weeks the words after `verb` name: the one week syntax (bot.core.weeks.parse_period)."""
    if args and not is_period_word(args[0]):
        raise Unreadable(say(verb, f"{verb} last-week", f"{verb} 4w", f"{verb} YYYY-Www", example="2026-W47"))
    return core_period(args[0] if args else None, now)


def _trend_period(current: Week) -> Period:
    return Period(span(current.shift(1 - TREND_WEEKS), current), settles=True)


def _me(runtime: Runtime, email: str, args: list[str], now: datetime) -> MeAnswer:
    period = parse_period(args, now)
    with session_scope(runtime.engine) as session:
        read = read_me(session, runtime.config, runtime.prices, email, period.reads)
        return _me_answer(session, runtime, read, period, now)


def _me_answer(session: Session, runtime: Runtime, read: AskerWeeks, period: Period, now: datetime) -> MeAnswer:
    """The weeks settled from the figures read, then the asker's work judged to the end of the last of them."""
    weeks = period.settle(lambda week: read.mine(week).active)
    fit = work_fit(session, runtime.config, runtime.prices, read, weeks[-1], now)
    return MeAnswer(me_reports(read, weeks, runtime.config.policy), fit)


def _trend(runtime: Runtime, email: str, args: list[str], now: datetime) -> TrendAnswer:
    if args:
        raise Unreadable(("trend takes no week: it always shows your last 8 weeks. ",) + say("trend"))
    period = _trend_period(Week.of(now))
    with session_scope(runtime.engine) as session:
        read = read_asker(session, runtime.config, runtime.prices, email, period.reads, team=False, activity=False)
    return TrendAnswer(tuple(read.mine(w) for w in period.settle(lambda week: read.mine(week).active)))


def _preview(runtime: Runtime, email: str, now: datetime, prefix: str) -> PreviewAnswer:
    """The asker's figures come from the figures the digest itself was built from."""
    week = Week.of(now).shift(-1)
    with session_scope(runtime.engine) as session:
        person = _person(session, email)
        if person.team is None:
            return PreviewAnswer(team=None)
        read = team_weeks(session, runtime.config, runtime.prices, person.team, digest_weeks(week))
        digest = load_digest(session, runtime.config, runtime.prices, person.team, week, read=read)
        flags = () if digest.suppressed else _own_flags(session, runtime, read, _id(person), week)
    pid, mine = _id(person), read.of(_id(person), week)
    return PreviewAnswer(
        team=person.team, digest=digest, kudos_opt_in=person.kudos_opt_in, named_as=person.name or person.email,
        shipped=shipped_summary(mine), kudos_command=f"{prefix} kudos on".strip(),
        named=digest.sheet is not None and pid in dict(digest.sheet.kudos) and pid in digest.named,
        rules=rules_for(digest, pid, mine, flags),
    )


def _own_flags(session: Session, runtime: Runtime, read: TeamWeeks, pid: int, week: Week) -> list[str]:
    """The asker's flags, as the digest counted them."""
    idle = idle_seats(seat_facts(session, [pid], week.monday, week.end), week)
    cost = {pid: sum(seat.monthly_cost_usd or 0.0 for seat in idle)}
    return member_flags(read.figures, read.ids, week, cost, runtime.config)[pid]


def _kudos(runtime: Runtime, email: str, args: list[str]) -> KudosAnswer:
    if not args or args[0].lower() not in ("on", "off"):
        raise Unreadable(say("kudos on", "kudos off"))
    on = args[0].lower() == "on"
    with session_scope(runtime.engine) as session:
        person = _person(session, email)
        session.execute(update(Person).where(Person.id == _id(person)).values(kudos_opt_in=on))  # type: ignore[arg-type]
    return KudosAnswer(on)


def _privacy(runtime: Runtime, email: str) -> PrivacyAnswer:
    """What is stored about the asker, and the access log's rows that included them (by role, never by name)."""
    from bot.governance.access import exposures, showings_including

    config = runtime.config
    with session_scope(runtime.engine) as session:
        person_id = _id(_person(session, email))
        sources = sources_for_person(session, person_id)
        rows = showings_including(session, person_id)
    shown = exposures(rows, email, {t.name: t.managers for t in config.teams})
    return PrivacyAnswer(tuple(sources), config.policy.min_group_size, config.retention.days, shown)


def _team(runtime: Runtime, email: str, args: list[str], now: datetime) -> TeamAnswer | Refusal:
    """A team's digest for its configured managers, whether or not they are in `people:` (matched by email)."""
    week, name = _team_args(args, now)
    asker = email.strip().lower()
    with session_scope(runtime.engine) as session:
        team, refusal = _managed_team(runtime, session, asker, name)
        if team is None:
            return refusal
        digest = load_digest(session, runtime.config, runtime.prices, team.name, week)
    if week.end > now.date() and not digest.current.published:
        return TeamAnswer(replace(digest, withheld=(
            f"Week {week} is not over yet. A team-week's figures are published once, after it ends, and every "
            "later showing shows those; ask again next week.")))
    digest = publish_digest(runtime.engine, guard(digest, shown_groups(runtime.engine, team.name, str(week))))
    log_showing(runtime.engine, digest, "team", "person", asker)
    return TeamAnswer(digest)


def _team_args(args: list[str], now: datetime) -> tuple[Week, str | None]:
    """`team [NAME] [WEEK]`: the week in the shared syntax (last week when none), one week only."""
    words = list(args)
    word = words.pop() if words and is_period_word(words[-1]) else None
    period = core_period(word, now, settle_default=False) if word else Period((Week.of(now).shift(-1),))
    if len(period.weeks) != 1:
        raise Unreadable(("A team digest is one week: ",) + say("team", "team NAME last-week", "team NAME YYYY-Www",
                                                                   example="2026-W47"))
    return period.weeks[0], (words[0] if words else None)


def _managed_team(
    runtime: Runtime, session: Session, asker: str, name: str | None
) -> tuple[TeamConfig | None, Refusal]:
    """The team asked about when the asker manages it; otherwise a refusal that says who can ask."""
    teams = runtime.config.teams
    managed = [t for t in teams if asker in {m.strip().lower() for m in t.managers}]
    person = person_by_email(session, asker)
    if person is None and not managed:
        raise UnknownPerson(asker)  # neither a person nor a manager: told how to get linked, like every command
    if name is None:  # the one team they manage, else their own team
        name = managed[0].name if len(managed) == 1 else (person.team if person is not None else None)
    team = next((t for t in teams if name and t.name.lower() == name.lower()), None)
    if team is None:
        return None, Refusal(unknown=name) if name else Refusal()
    if team not in managed:
        return None, Refusal(team.name)
    return team, Refusal()


def _person(session: Session, email: str) -> Person:
    person = person_by_email(session, email)
    if person is None or person.id is None:
        raise UnknownPerson(email)
    return person


def _id(person: Person) -> int:
    assert person.id is not None, "people read from the directory have ids"
    return person.id


__all__ = ["Answer", "answer", "help_answer", "home", "TokenworthError"]
