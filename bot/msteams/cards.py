"""Adaptive Cards (schema 1.5) for Teams: the same sentences and numbers as Slack and the terminal.

Invariant: cards are built from the typed answers. Wording comes from `bot.answers.text.lines`; only
how spans look is decided here (commands and emphasis as **bold**, the Markdown subset cards render).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.answers.me import MeReport
from bot.answers.text import lines, plain_text
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
from bot.digest.build import Digest
from bot.digest.format import money, points, ratio
from bot.digest.summary import (
    EXPLAINER,
    freshness_line,
    headline,
    kudos_lines,
    money_lines,
    signal_lines,
    suppressed_text,
)

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
            return adaptive_card(_me_body(report, lines(answer)), plain_text(answer))
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


def _me_body(report: MeReport, text: list[Line]) -> list[Element]:
    f = report.figures
    facts = _facts([
        ("AI spend", money(f.spend_usd)), ("Tokens", f"{f.tokens.total:,}"),
        ("Outcome points", points(f.outcome_points)), ("Yield (points per $100)", ratio(f.yield_per_100usd)),
    ])
    return [_title(markdown(text[0])), facts, *(_text(markdown(line)) for line in text[1:])]


def _trend_body(answer: TrendAnswer, chart_url: str | None) -> list[Element]:
    body = [_title(f"Your last {len(answer.weeks)} weeks"),
            _facts([(w.week, f"{money(w.spend_usd)} spend, {points(w.outcome_points)} points") for w in answer.weeks])]
    if chart_url:
        body.append(_image(chart_url, f"Your spend against outcome points, last {len(answer.weeks)} weeks"))
    return body


def digest_card(digest: Digest, charts: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """The weekly digest: headline figures, where the money went, signals as counts, opted-in kudos, charts."""
    body: list[Element] = [_title(f"{digest.team} · week {digest.week}")]
    if digest.suppressed:
        body.append(_text(suppressed_text(digest)))
    else:
        body += [
            _facts([(label, f"{value} {delta}".strip()) for label, value, delta in headline(digest)]),
            _text(EXPLAINER, subtle=True),
            _section("Where the money went", money_lines(digest)),
            _section("Signals (counts, never names)", signal_lines(digest)),
        ]
        kudos = kudos_lines(digest)
        if kudos:
            body.append(_section("Shipped this week (people who opted in to kudos)", kudos))
        body += [_image(url, title) for title, url in charts]
    body.append(_text(freshness_line(digest), subtle=True))
    return adaptive_card(body, digest_fallback(digest))


def digest_fallback(digest: Digest) -> str:
    if digest.suppressed:
        return f"tokenworth weekly digest for {digest.team}, {digest.week}: too few active people to show figures."
    cur = digest.current
    return (f"tokenworth weekly digest for {digest.team}, {digest.week}: {points(cur.outcome_points)} outcome points "
            f"for {money(cur.spend_usd)} of AI spend (yield {ratio(cur.yield_per_100usd)} per $100).")


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
