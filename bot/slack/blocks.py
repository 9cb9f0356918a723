"""The digest as Slack Block Kit, built with slack_sdk.models so every block is validated."""

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


def summary_blocks(digest: Digest) -> list[dict[str, Any]]:
    """The main message: the headline figures, or why there are none."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=f"{digest.team} · week {digest.week}"[:150]))]
    if digest.suppressed:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=suppressed_text(digest))))
    else:
        fields = [
            MarkdownTextObject(text=f"*{label}*\n{value} {delta}".strip()) for label, value, delta in headline(digest)
        ]
        blocks += [SectionBlock(fields=fields), ContextBlock(elements=[MarkdownTextObject(text=EXPLAINER)])]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=freshness_line(digest))]))
    return _validated(blocks)


def detail_blocks(digest: Digest) -> list[dict[str, Any]]:
    """The thread reply: where the money went, waste signals as counts, opted-in kudos."""
    if digest.suppressed:
        return []
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_bullets("Where the money went", money_lines(digest)))),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=_bullets("Signals (counts, never names)", signal_lines(digest)))),
    ]
    kudos = kudos_lines(digest)
    if kudos:
        blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(
            text=_bullets("Shipped this week (people who opted in to kudos)", kudos)))]
    return _validated(blocks)


def digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    """Everything, main message then thread, as one list (for previews and App Home)."""
    return summary_blocks(digest) + detail_blocks(digest)


def _bullets(title: str, lines: list[str]) -> str:
    return "\n".join([f"*{title}*", *(f"• {line}" for line in lines)])[:3000]


def _validated(blocks: list[Block]) -> list[dict[str, Any]]:
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
