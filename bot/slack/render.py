"""Answers as Slack: Block Kit for what the asker sees, ephemeral, and mrkdwn for the fallback text.

Invariant: this is where answers become mrkdwn. Wording comes from `bot.answers.text.lines`; only
how spans look is decided here (commands as code, emphasis as bold, text escaped).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.answers.text import lines
from bot.answers.types import PRIVATE, Answer, Code, Home, Line, NotLinked, Span, Strong, TeamAnswer
from bot.slack.blocks import digest_blocks

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
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


def answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    if isinstance(answer, TeamAnswer):
        return digest_blocks(answer.digest)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in _chunks(answer_text(answer))]
    if isinstance(answer, PRIVATE):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=PRIVATE_NOTE)]))
    for block in blocks:
        block.validate_json()
    return [b.to_dict() for b in blocks][:MAX_BLOCKS]


def home_blocks(home: Home | NotLinked) -> list[dict[str, Any]]:
    """App Home: `me` (the current week once it has data, else the last full week), then the trend."""
    if isinstance(home, NotLinked):
        return answer_blocks(home)
    return answer_blocks(home.me) + answer_blocks(home.trend)


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
