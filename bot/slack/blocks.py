"""The digest as Slack Block Kit, built with slack_sdk.models so every block is validated.

The main message leads with the week's one finding and one action, then the headline figures and the
rework line beside them; the thread carries where the money went, the evidence table, signals and kudos.
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


def summary_blocks(digest: Digest) -> list[dict[str, Any]]:
    """The main message: the headline figures, or why there are none."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=f"{digest.team} · week {digest.week}"[:150]))]
    if digest.suppressed:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=suppressed_text(digest))))
    else:
        found, rework = finding(digest), rework_line(digest)
        fields = [
            MarkdownTextObject(text=f"*{label}*\n{value} {delta}".strip()) for label, value, delta in headline(digest)
        ]
        blocks += [SectionBlock(text=MarkdownTextObject(text=f"*{found.finding}*\n{found.action}"[:3000])),
                   SectionBlock(fields=fields)]
        if rework:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=rework[:3000])))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=EXPLAINER)]))
    if freshness_line(digest):
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=freshness_line(digest))]))
    return _validated(blocks)


def detail_blocks(digest: Digest) -> list[dict[str, Any]]:
    """The thread reply: where the money went, waste signals as counts, opted-in kudos."""
    if digest.suppressed:
        return []
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=_bullets("Where the money went", money_lines(digest)))),
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=_bullets(EVIDENCE_TITLE, evidence_lines(digest)))),
    ]
    signals = signal_lines(digest)
    if signals:
        blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(
            text=_bullets("Signals (counts, never names)", signals)))]
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
        f"for {cost_words(cur)} (yield {ratio(cur.yield_per_100usd)} per $100)."
    )


def admin_blocks(admin: AdminDigest) -> list[dict[str, Any]]:
    """The admin digest: one bullet per org-level line, then how far each feed's data reaches."""
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=f"{TITLE} · week {admin.week}"[:150])),
        SectionBlock(text=MarkdownTextObject(text="\n".join(f"• {line}" for line in admin_lines(admin))[:3000])),
        ContextBlock(elements=[MarkdownTextObject(text=reach_line(admin))]),
    ]
    return _validated(blocks)


def admin_fallback(admin: AdminDigest) -> str:
    return f"{TITLE} for {admin.week}: " + admin_lines(admin)[0]
