"""Answers as sentences: the same words for the terminal, Slack and Teams.

Invariant: `lines` is the one place an answer's wording lives. Its lines are spans (`str`, `Code`,
`Strong`), never markup; `plain_text` joins them for terminals and fallbacks, and the Slack and Teams
adapters render the same spans as mrkdwn and Markdown.
"""

from __future__ import annotations

from bot.answers.me import MeReport
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
from bot.digest.format import money, plural, points, ratio, share
from bot.digest.text import digest_text
from bot.governance import NOT_FOR_EVALUATION

HELP_INTRO = "Outcomes per dollar, only about you, only to you."
REWORK_LABELS = {  # (one, many)
    "prs_reverted": ("PR reverted", "PRs reverted"),
    "assistant_edits_rejected": ("Claude Code edit rejected", "Claude Code edits rejected"),
    "cursor_rejects": ("Cursor suggestion rejected", "Cursor suggestions rejected"),
    "copilot_not_accepted": ("Copilot suggestion not accepted", "Copilot suggestions not accepted"),
}


def lines(answer: Answer) -> list[Line]:
    """The answer's sentences, one line each."""
    match answer:
        case HelpAnswer():
            return help_lines(answer)
        case UsageProblem():
            return [answer.problem, *help_lines(answer.help)]
        case MeAnswer(reports=(report,)):
            return _plain_lines(me_text(report))
        case MeAnswer():
            return _plain_lines(period_text(answer.reports))
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
            return ("Sorry, the team digest is only for that team's configured managers.",)
        case NotLinked():
            return (
                "I can't find you in tokenworth's directory yet. Ask your tokenworth admin to add your work email "
                "to the config's ", Code("people:"), " (or ", Code("tokenworth people import"), "), then try again.",
            )


SURFACES = {"digest": "the weekly digest", "team": "the team command", "admin_digest": "an admin digest",
            "export": "an export", "preview": "a digest preview"}


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
    return "\n".join(f"{w.week}: ${w.spend_usd:,.2f} spend, {plural(w.outcome_points, 'point')}" for w in answer.weeks)


def me_text(report: MeReport) -> str:
    f = report.figures
    o = f.outcomes
    who = report.name or report.email
    text = [
        f"{who} · week {report.week}",
        f"AI spend: {money(f.spend_usd)} ({f.tokens.total:,} tokens: {f.tokens.input:,} input, "
        f"{f.tokens.output:,} output, {f.tokens.cache_read:,} cache read, {f.tokens.cache_write:,} cache write)",
        f"Outcomes: {plural(o['pr_merged'], 'merged PR')}, {points(o['pr_reverted'])} reverted, "
        f"{plural(o['tickets_closed'], 'ticket closed', 'tickets closed')} → "
        f"{plural(f.outcome_points, 'outcome point')}",
        f"Yield: {ratio(f.yield_per_100usd)} points per $100"
        + ("" if f.yield_per_100usd is not None else " (needs at least $1 of spend)"),
        f"Frontier share of spend: {share(f.frontier_share)}; the standard tier would have saved an estimated "
        f"{money(f.savings_usd)} (estimate: the same tokens at the standard model's list prices; an upper bound, "
        "since it may need more tokens or turns)",
    ]
    if f.unpriced_models:
        text.append(f"Not priced yet (left out of spend): {', '.join(sorted(f.unpriced_models))}")
    text.append(_standing_line(report))
    rework = {k: v for k, v in report.rework.items() if v}
    if rework:
        text.append("Rework: " + ", ".join(plural(v, *REWORK_LABELS.get(k, (k, k))) for k, v in sorted(rework.items())))
    text += [f"⚑ {flag.detail}. Tip: {flag.tip}" for flag in report.flags]
    if not report.flags:
        text.append("No flags this week.")
    return "\n".join(text)


def _standing_line(report: MeReport) -> str:
    team, own = report.team, ratio(report.figures.yield_per_100usd)
    if team is None:
        return "Team comparison: hidden, your team is smaller than the privacy floor."
    middle = (f"team middle {ratio(team.median_yield_per_100usd)} per $100, the mean of the middle "
              f"{'two' if team.middle_of % 2 == 0 else 'three'} of {team.middle_of} yields"
              if team.median_yield_per_100usd is not None else "team middle not shown this week")
    if team.band is None:
        why = f" No band: {team.band_withheld}." if team.band_withheld else ""
        return f"Your yield: {own} per $100, beside your team's ({middle}).{why}"
    return (f"Team: your yield of {own} per $100 is in the {team.band} of the people with a yield in your team "
            f"of {team.people} ({middle}). Bands split the team's yields into thirds (lower, middle, upper), each "
            f"holding at least {team.min_group_size} people; nobody is ranked.")


def period_text(reports: tuple[MeReport, ...]) -> str:
    """Several weeks: one line each, then the totals."""
    first, last = reports[0], reports[-1]
    text = [f"{last.name or last.email} · weeks {first.week} to {last.week}"]
    spend = points_total = 0.0
    for report in reports:
        f = report.figures
        spend += f.spend_usd
        points_total += f.outcome_points
        text.append(f"{report.week}: {money(f.spend_usd)} spend, {plural(f.outcome_points, 'point')}, "
                    f"yield {ratio(f.yield_per_100usd)}")
    text.append(f"Total: {money(spend)} spend, {plural(points_total, 'point')}, "
                f"yield {ratio(yield_per_100usd(points_total, spend))} per $100")
    return "\n".join(text)
