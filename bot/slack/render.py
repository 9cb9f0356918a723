"""Answers as Slack: Block Kit for what the asker sees, ephemeral, and mrkdwn for the fallback text.

Invariant: this is where answers become mrkdwn. Wording comes from `bot.answers.text.lines` (a one-week
`me` from its sheet, bot.answers.sheet, laid out as a header and two-column fields); only how spans look
is decided here (commands as code, emphasis as bold, text escaped). A private answer, and App Home, end
with the privacy footer exactly once.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.answers.sheet import Sheet, me_sheet
from bot.answers.text import lines
from bot.answers.types import PRIVATE, Answer, Code, Home, Line, MeAnswer, NotLinked, Span, Strong, TeamAnswer
from bot.slack.blocks import digest_blocks

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
MAX_FIELDS = 10  # a section holds at most 10 fields: https://api.slack.com/reference/block-kit/blocks#section
HEADER_LIMIT = 150
PRIVATE_NOTE = "Only you can see this. tokenworth never shows your numbers to anyone else."


def answer_text(answer: Answer) -> str:
    """The answer as mrkdwn: the message's `text`, and the sections' content."""
    return "\n".join(mrkdwn(line) for line in lines(answer))


def mrkdwn(line: Line) -> str:
    return "".join(_span(span) for span in line)


def _span(span: Span) -> str:
    if isinstance(span, Code):
        return f"`{_escape(span.text)}`"
    if isinstance(span, Strong):
        return f"*{_escape(span.text)}*"
    return _escape(span)


def _escape(text: str) -> str:
    """Slack reads &, < and > as markup: https://api.slack.com/reference/surfaces/formatting#escaping"""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_blocks(answer: Answer, footer: bool = True) -> list[dict[str, Any]]:
    """The answer's blocks; a private answer ends with the privacy footer unless `footer` is False."""
    if isinstance(answer, TeamAnswer):
        return digest_blocks(answer.digest)
    blocks = _body(answer)
    if footer and isinstance(answer, PRIVATE):
        blocks.append(_footer())
    return _dicts(blocks)


def _body(answer: Answer) -> list[Block]:
    if isinstance(answer, MeAnswer) and len(answer.reports) == 1:
        return me_blocks(me_sheet(answer.latest, answer.fit))
    return _sections(answer_text(answer))


def me_blocks(sheet: Sheet) -> list[Block]:
    """One week of `me` at a glance: a header, the figures as two-column fields, then notes, tips and fit."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=sheet.title[:HEADER_LIMIT]))]
    fields = [MarkdownTextObject(text=f"*{_escape(label)}*\n{_escape(value)}") for label, value in sheet.facts]
    blocks += [SectionBlock(fields=fields[i:i + MAX_FIELDS]) for i in range(0, len(fields), MAX_FIELDS)]
    for group in (sheet.notes, sheet.tips):
        blocks += _sections("\n".join(mrkdwn(line) for line in group)) if group else []
    if sheet.fit:
        blocks += [DividerBlock(), *_sections("\n".join(mrkdwn(line) for line in sheet.fit))]
    return blocks


def home_blocks(home: Home | NotLinked) -> list[dict[str, Any]]:
    """App Home: `me` (the current week once it has data, else the last full week), the trend, one footer."""
    if isinstance(home, NotLinked):
        return answer_blocks(home)
    return _dicts([*_body(home.me), DividerBlock(), *_body(home.trend), _footer()])


def _sections(text: str) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in _chunks(text)]


def _footer() -> Block:
    return ContextBlock(elements=[MarkdownTextObject(text=PRIVATE_NOTE)])


def _dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    for block in blocks:
        block.validate_json()
    if len(blocks) > MAX_BLOCKS:  # keep the footer: it is what tells the asker nobody else sees this
        blocks = [*blocks[:MAX_BLOCKS - 1], blocks[-1]]
    return [b.to_dict() for b in blocks]


def _chunks(text: str) -> list[str]:
    """Whole lines, packed into sections of at most 3,000 characters."""
    chunks, current = [], ""
    for line in text.splitlines() or [""]:
        line = line[:SECTION_LIMIT]
        if current and len(current) + len(line) + 1 > SECTION_LIMIT:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    chunks.append(current or " ")
    return chunks
