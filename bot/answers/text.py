"""Answers as sentences: the same words for the terminal, Slack and Teams.

Invariant: `lines` is the one place an answer's wording lives (a one-week `me` through its sheet,
bot.answers.sheet, which lays the same words out as facts). Its lines are spans (`str`, `Code`,
`Strong`), never markup; `plain_text` joins them for terminals and fallbacks, and the Slack and Teams
adapters render the same spans as mrkdwn and Markdown.
"""

from __future__ import annotations

from bot.answers.fit import WorkFit
from bot.answers.me import MeReport
from bot.answers.sheet import fit_lines, me_sheet
from bot.answers.types import (
    Answer,
    Code,
    HelpAnswer,
    KudosAnswer,
    Line,
    MeAnswer,
    NotLinked,
    PreviewAnswer,
    PrivacyAnswer,
    Refusal,
    Span,
    Strong,
    TeamAnswer,
    TrendAnswer,
    UsageProblem,
)
from bot.core.metrics import yield_per_100usd
from bot.digest.format import money, plural, ratio
from bot.digest.text import digest_text
from bot.governance import NOT_FOR_EVALUATION

HELP_INTRO = "Outcomes per dollar, only about you, only to you."


def lines(answer: Answer) -> list[Line]:
    """The answer's sentences, one line each."""
    match answer:
        case HelpAnswer():
            return help_lines(answer)
        case UsageProblem():
            return [answer.problem, *help_lines(answer.help)]
        case MeAnswer(reports=(report,)):
            return me_sheet(report, answer.fit).lines()
        case MeAnswer():
            return [*_plain_lines(period_text(answer.reports)), *(fit_lines(answer.fit) if answer.fit else [])]
        case TrendAnswer():
            return [(f"Your last {len(answer.weeks)} weeks:",), *_plain_lines(_trend_text(answer))]
        case TeamAnswer():
            return _plain_lines(digest_text(answer.digest))
        case PreviewAnswer():
            return [_preview_line(answer), *((rule,) for rule in answer.rules)]
        case PrivacyAnswer():
            return privacy_lines(answer)
        case _:
            return [_short_line(answer)]


def plain(line: Line) -> str:
    return "".join(_plain_span(span) for span in line)


def plain_text(answer: Answer) -> str:
    return "\n".join(plain(line) for line in lines(answer))


def _plain_span(span: Span) -> str:
    """Commands in quotes, so they read as something to type; emphasis and text as they are."""
    if isinstance(span, Code):
        return f'"{span.text}"'
    return span.text if isinstance(span, Strong) else span


def _plain_lines(text: str) -> list[Line]:
    return [(line,) for line in text.splitlines()]


def help_lines(answer: HelpAnswer) -> list[Line]:
    return [(HELP_INTRO,), *((Strong(f"{answer.prefix} {usage}"), f": {what}") for usage, what in answer.entries)]


def say(*commands: str, example: str | None = None) -> Line:
    """`Say a, b or c (for example x).`, the commands as `Code`."""
    spans: list[Span] = ["Say "]
    for i, command in enumerate(commands):
        if i:
            spans.append(" or " if i == len(commands) - 1 else ", ")
        spans.append(Code(command))
    spans.append(f" (for example {example})." if example else ".")
    return tuple(spans)


def _short_line(answer: KudosAnswer | Refusal | NotLinked) -> Line:
    match answer:
        case KudosAnswer(on=True):
            return ("Kudos on: the weekly digest may name you for what you shipped (never for usage).",)
        case KudosAnswer():
            return ("Kudos off: the weekly digest will not name you.",)
        case Refusal():
            return refusal_line(answer)
        case NotLinked():
            return (
                "I can't find you in tokenworth's directory yet. Ask your tokenworth admin to add your work email "
                "to the config's ", Code("people:"), " (or ", Code("tokenworth people import"), "), then try again.",
            )


def refusal_line(answer: Refusal) -> Line:
    """Why not, and who can: the people listed under the team's `managers:` (by role; naming them would be
    showing other people in a private answer)."""
    if answer.unknown is not None:
        return ("There is no team named ", Code(answer.unknown), " in tokenworth's config.")
    if answer.team is None:
        return ("Sorry, the team digest is only for a team's configured managers: name the team, as in ",
                Code("team NAME"), ".")
    return (f"Sorry, the team digest for {answer.team} is only for that team's configured managers: the people "
            "listed under ", Code("managers:"), f" of team {answer.team} in tokenworth's config. If you manage "
            f"{answer.team}, ask your tokenworth admin to add your work email there.")


SURFACES = {"digest": "the weekly digest", "team": "the team command", "admin_digest": "an admin digest",
            "export": "an export", "preview": "a digest preview", "finops": "a FinOps report",
            "finops_alert": "a budget or cost alert", "model_fit": "a model-fit report"}


def privacy_lines(answer: PrivacyAnswer) -> list[Line]:
    """What is stored, how often figures that included the asker were shown and to whom, and the retention."""
    feeds = ", ".join(answer.sources) if answer.sources else "no feed yet"
    return [
        ("What tokenworth stores about you: AI usage per day, tool and model (tokens, requests, list-price "
         "value), activity counts (sessions, lines, accepted and rejected suggestions), outcomes (merged PRs, "
         f"reverts, closed tickets) and the feed identities that map to you. Feeds with data about you: {feeds}. "
         "No prompts, code or messages are stored.",),
        (f"Your own numbers go only to you; anything shown to others covers at least {answer.min_group_size} "
         "people and never ranks anyone.",),
        *_shown_lines(answer),
        ("Retention: rows about your days (usage, activity, outcomes, seats) are deleted ",
         Strong(plural(answer.retention_days, "day")), " after the day they describe, every day. The log of who was "
         "shown team figures holds no figures and is kept without limit. Your admin can erase everything about "
         "you on request with ", Code("tokenworth forget"), ".",),
        (NOT_FOR_EVALUATION,),
    ]


def _shown_lines(answer: PrivacyAnswer) -> list[Line]:
    if not answer.shown:
        return [("Figures that included you have not been shown to anyone yet.",)]
    total = sum(e.times for e in answer.shown)
    since = min(e.first for e in answer.shown)
    head = f"Figures that included you were shown {total} time{'s' if total != 1 else ''} since {since:%Y-%m-%d}:"
    return [(head,), *((f"• {e.times}× {SURFACES.get(e.surface, e.surface)} to {e.audience}, "
                        f"last on {e.last:%Y-%m-%d}",) for e in answer.shown)]


def _preview_line(answer: PreviewAnswer) -> Line:
    digest = answer.digest
    if answer.team is None or digest is None:
        return ("You are not in a team, so no manager digest includes you.",)
    if digest.suppressed:
        return (f"Last week's digest for {answer.team} showed no team figures (fewer than "
                f"{digest.min_group_size} people active), so nothing about you.",)
    shown = (f"Last week's digest for {answer.team} includes you only inside team totals of "
             f"{digest.current.people_active} people, and flags only as counts.")
    held = digest.sheet.reason("kudos") if digest.sheet is not None else None
    if answer.kudos_opt_in and answer.named:
        return (f"{shown} You opted in to kudos, so it names you: \"{answer.named_as}: {answer.shipped}\".",)
    if answer.kudos_opt_in and held is not None:
        return (f"{shown} You opted in to kudos, but it names nobody this week: {held.reason}, so that nobody "
                "can be singled out by elimination.",)
    if answer.kudos_opt_in and answer.shipped:
        return (f"{shown} You opted in to kudos, but you are not named: you opted in, or what you shipped "
                "arrived, after these figures were published.",)
    if answer.kudos_opt_in:
        return (f"{shown} You opted in to kudos; you'd be named when you ship something.",)
    return (f"{shown} It never names you. ", Code(answer.kudos_command), " lets it name what you shipped.")


def _trend_text(answer: TrendAnswer) -> str:
    return "\n".join(f"{w.week}: {spent(w.spend_usd, w.seat_cost_usd)}, {plural(w.outcome_points, 'point')}"
                     for w in answer.weeks)


def me_text(report: MeReport, fit: WorkFit | None = None) -> str:
    """One week of `me` as plain text: the sheet's lines (bot.answers.sheet), facts as `label: value`."""
    return "\n".join(plain(line) for line in me_sheet(report, fit).lines())


def period_text(reports: tuple[MeReport, ...]) -> str:
    """Several weeks: one line each, then the totals."""
    first, last = reports[0], reports[-1]
    text = [f"{last.name or last.email} · weeks {first.week} to {last.week}"]
    spend = seats = points_total = 0.0
    for report in reports:
        f = report.figures
        spend += f.spend_usd
        seats += f.seat_cost_usd
        points_total += f.outcome_points
        text.append(f"{report.week}: {spent(f.spend_usd, f.seat_cost_usd)}, {plural(f.outcome_points, 'point')}, "
                    f"yield {ratio(f.yield_per_100usd)}" if f.active else f"{report.week}: no data about you")
    text.append(f"Total: {spent(spend, seats)}, {plural(points_total, 'point')}, "
                f"yield {ratio(yield_per_100usd(points_total, spend + seats))} per $100")
    return "\n".join(text)


def spent(metered: float, seats: float) -> str:
    """`$6.48 spend`, or with seats `$10.85 cost ($6.48 metered + $4.37 seats)`: yield is over their sum.
    No part that would say $0.00 is shown."""
    if seats < 0.005:
        return f"{money(metered)} spend" if metered >= 0.005 else "no AI spend"
    if metered < 0.005:
        return f"{money(seats)} cost (seats only)"
    return f"{money(metered + seats)} cost ({money(metered)} metered + {money(seats)} seats)"
