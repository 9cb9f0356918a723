"""Answers as Block Kit: what the asker sees, ephemeral, in Slack."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.answers.commands import Answer
from bot.slack.blocks import digest_blocks

SECTION_LIMIT = 3000
PRIVATE = "Only you can see this. tokenworth never shows your numbers to anyone else."


def answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    if answer.kind == "team" and answer.digest is not None:
        return digest_blocks(answer.digest)
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=chunk)) for chunk in _chunks(answer.text)]
    if answer.kind in ("me", "trend", "preview", "privacy"):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=PRIVATE)]))
    for block in blocks:
        block.validate_json()
    return [b.to_dict() for b in blocks][:50]


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
