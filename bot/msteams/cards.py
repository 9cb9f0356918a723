"""Adaptive Cards (schema 1.5) for Teams: the same sentences and numbers as Slack and the terminal.

Invariant: cards are built from the typed answers. Wording comes from `bot.answers.text.lines`; only
how spans look is decided here (commands and emphasis as **bold**, the Markdown subset cards render).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.answers.sheet import Sheet, me_sheet
from bot.answers.text import lines, plain_text, spent
from bot.answers.types import (
    Answer,
    HelpAnswer,
    KudosAnswer,
    Line,
    MeAnswer,
    NotLinked,
    PreviewAnswer,
    PrivacyAnswer,
    Refusal,
    Span,
    TeamAnswer,
    TrendAnswer,
    UsageProblem,
)
from bot.digest.admin import TITLE, AdminDigest, admin_lines, reach_line
from bot.digest.build import Digest
from bot.digest.finding import evidence_lines, finding, rework_line
from bot.digest.format import points, ratio
from bot.digest.summary import (
    EXPLAINER,
    cost_words,
    freshness_line,
    headline,
    kudos_lines,
    money_lines,
    signal_lines,
    suppressed_text,
)
from bot.digest.text import EVIDENCE_TITLE

Element = dict[str, Any]
VERSION = "1.5"
MAX_BYTES = 28_000  # Teams refuses message payloads of about 28 KB and more
TITLES: dict[type[Answer], str] = {
    HelpAnswer: "tokenworth", PreviewAnswer: "What your manager's digest shows about you", KudosAnswer: "Kudos",
    PrivacyAnswer: "Your data in tokenworth", Refusal: "Team digest", UsageProblem: "tokenworth",
    NotLinked: "Not linked yet",
}


def adaptive_card(body: list[Element], fallback: str) -> dict[str, Any]:
    card = {
        "type": "AdaptiveCard", "version": VERSION, "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "fallbackText": fallback[:500], "body": body,
    }
    return _bounded(card)


def answer_card(answer: Answer, trend_chart_url: str | None = None) -> dict[str, Any]:
    """The card for a command's answer: only ever about the asker (or their team, for managers)."""
    match answer:
        case TeamAnswer():
            return digest_card(answer.digest)
        case MeAnswer(reports=(report,)):
            return adaptive_card(_me_body(me_sheet(report, answer.fit)), plain_text(answer))
        case TrendAnswer(weeks=weeks) if weeks:
            return adaptive_card(_trend_body(answer, trend_chart_url), plain_text(answer))
        case MeAnswer() | TrendAnswer():
            first, *rest = lines(answer)
            body = [_title(markdown(first)), *(_text(markdown(line)) for line in rest)]
            return adaptive_card(body, plain_text(answer))
        case _:
            body = [_title(TITLES[type(answer)]), *(_text(markdown(line)) for line in lines(answer))]
            return adaptive_card(body, plain_text(answer))


def markdown(line: Line) -> str:
    """A line in the Markdown subset Adaptive Cards render: commands and emphasis in **bold**, text as it is."""
    return "".join(_span(span) for span in line)


def _span(span: Span) -> str:
    if isinstance(span, str):
        return span
    return f"**{span.text}**" if span.text else ""


def _me_body(sheet: Sheet) -> list[Element]:
    """One week of `me` at a glance: the title, the figures as a FactSet, then notes, tips and the work-class fit."""
    facts = [_facts(sheet.facts)] if sheet.facts else []
    body = [_title(sheet.title), *facts, *(_text(markdown(line)) for line in (*sheet.notes, *sheet.tips))]
    if sheet.fit:
        body.append({"type": "Container", "separator": True, "items": [_text(markdown(line)) for line in sheet.fit]})
    return body


def _trend_body(answer: TrendAnswer, chart_url: str | None) -> list[Element]:
    body = [_title(f"Your last {len(answer.weeks)} weeks"),
            _facts([(w.week, f"{spent(w.spend_usd, w.seat_cost_usd)}, {points(w.outcome_points)} points")
                    for w in answer.weeks])]
    if chart_url:
        body.append(_image(chart_url, f"Your spend against outcome points, last {len(answer.weeks)} weeks"))
    return body


def digest_card(digest: Digest, charts: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The weekly digest: the finding and its action, headline figures with rework beside them, where the money
    went, the evidence table, signals as counts, opted-in kudos, charts."""
    body: list[Element] = [_title(f"{digest.team} · week {digest.week}")]
    if digest.suppressed:
        body.append(_text(suppressed_text(digest)))
    else:
        found, rework = finding(digest), rework_line(digest)
        body += [
            {"type": "TextBlock", "text": found.finding, "weight": "Bolder", "wrap": True},
            _text(found.action),
            _facts([(label, f"{value} {delta}".strip()) for label, value, delta in headline(digest)]),
            *([_text(rework)] if rework else []),
            _text(EXPLAINER, subtle=True),
            _section("Where the money went", money_lines(digest)),
            _section(EVIDENCE_TITLE, evidence_lines(digest)),
        ]
        signals = signal_lines(digest)
        if signals:
            body.append(_section("Signals (counts, never names)", signals))
        kudos = kudos_lines(digest)
        if kudos:
            body.append(_section("Shipped this week (people who opted in to kudos)", kudos))
        body += [_image(url, title) for title, url in charts]
    if freshness_line(digest):
        body.append(_text(freshness_line(digest), subtle=True))
    return adaptive_card(body, digest_fallback(digest))


def admin_card(admin: AdminDigest) -> dict[str, Any]:
    """The admin digest: the org-level lines, then how far each feed's data reaches."""
    body = [_title(f"{TITLE} · week {admin.week}"), *(_text(line) for line in admin_lines(admin)),
            _text(reach_line(admin), subtle=True)]
    return adaptive_card(body, f"{TITLE} for {admin.week}: {admin_lines(admin)[0]}")


def digest_fallback(digest: Digest) -> str:
    if digest.suppressed:
        return f"tokenworth weekly digest for {digest.team}, {digest.week}: too few active people to show figures."
    cur = digest.current
    return (f"tokenworth weekly digest for {digest.team}, {digest.week}: {points(cur.outcome_points)} outcome points "
            f"for {cost_words(cur)} (yield {ratio(cur.yield_per_100usd)} per $100).")


def _title(text: str) -> Element:
    return {"type": "TextBlock", "text": text, "weight": "Bolder", "size": "Medium", "wrap": True}


def _text(text: str, subtle: bool = False) -> Element:
    block: Element = {"type": "TextBlock", "text": text or " ", "wrap": True}
    if subtle:
        block.update(isSubtle=True, size="Small")
    return block


def _facts(pairs: Sequence[tuple[str, str]]) -> Element:
    return {"type": "FactSet", "facts": [{"title": title, "value": value} for title, value in pairs]}


def _section(title: str, bullets: Sequence[str]) -> Element:
    text = "\n".join(f"- {bullet}" for bullet in bullets)
    items = [_title(title), {"type": "TextBlock", "text": text, "wrap": True}]
    return {"type": "Container", "separator": True, "items": items}


def _image(url: str, alt: str) -> Element:
    return {"type": "Image", "url": url, "altText": alt, "size": "Stretch"}


def _bounded(card: dict[str, Any]) -> dict[str, Any]:
    """Drop body elements from the end (keeping the last, the freshness line) until the card fits."""
    body = card["body"]
    while len(json.dumps(card).encode()) > MAX_BYTES and len(body) > 2:
        body.pop(-2)
    return card


def card_bytes(card: dict[str, Any]) -> int:
    return len(json.dumps(card).encode())
