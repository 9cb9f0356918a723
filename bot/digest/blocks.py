"""The digest as Slack Block Kit, built with slack_sdk.models so every block is validated."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock,
)

from bot.digest.build import Digest
from bot.digest.format import money, points, ratio
from bot.digest.summary import EXPLAINER, freshness_line, headline, money_lines, suppressed_text


def digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=f"{digest.team} · week {digest.week}"[:150]))]
    blocks += _suppressed(digest) if digest.suppressed else _figures(digest)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=freshness_line(digest))]))
    for block in blocks:
        block.validate_json()
    return [block.to_dict() for block in blocks]


def fallback_text(digest: Digest) -> str:
    if digest.suppressed:
        return f"tokenworth weekly digest for {digest.team}, {digest.week}: too few active people to show figures."
    cur = digest.current
    return (
        f"tokenworth weekly digest for {digest.team}, {digest.week}: {points(cur.outcome_points)} outcome points "
        f"for {money(cur.spend_usd)} of AI spend (yield {ratio(cur.yield_per_100usd)} per $100)."
    )


def _figures(digest: Digest) -> list[Block]:
    fields = [MarkdownTextObject(text=f"*{label}*\n{value} {delta}".strip()) for label, value, delta in headline(digest)]
    return [
        SectionBlock(fields=fields),
        ContextBlock(elements=[MarkdownTextObject(text=EXPLAINER)]),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=_money_went(digest))),
    ]


def _money_went(digest: Digest) -> str:
    return "\n".join(["*Where the money went*", *(f"• {line}" for line in money_lines(digest))])[:3000]


def _suppressed(digest: Digest) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=suppressed_text(digest)))]
