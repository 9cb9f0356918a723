"""The digest as plain text, for the terminal: the same sentences, in the same order, as Slack and Teams."""

from __future__ import annotations

from bot.digest.build import Digest
from bot.digest.finding import evidence_lines, finding, rework_line
from bot.digest.summary import (
    EXPLAINER,
    freshness_line,
    headline,
    kudos_lines,
    money_lines,
    signal_lines,
    suppressed_text,
)

EVIDENCE_TITLE = "Which work fits which model (the team's own outcomes, last 8 weeks)"


def digest_text(digest: Digest) -> str:
    title = f"tokenworth digest · {digest.team} · week {digest.week}"
    lines = [title, "=" * len(title)]
    if digest.suppressed:
        lines.append(suppressed_text(digest))
    else:
        found, rework = finding(digest), rework_line(digest)
        lines += [f"Finding: {found.finding}", f"Action: {found.action}", ""]
        lines += [f"{label:<24}: {value} {delta}" for label, value, delta in headline(digest)]
        lines += [*([rework] if rework else []), "", "Where the money went",
                  *(f"  - {line}" for line in money_lines(digest)),
                  "", EVIDENCE_TITLE, *(f"  - {line}" for line in evidence_lines(digest)),
                  *(["", "Signals (counts, never names)"] if signal_lines(digest) else []),
                  *(f"  - {line}" for line in signal_lines(digest)),
                  *(["", "Shipped this week (opted in to kudos)"] if kudos_lines(digest) else []),
                  *(f"  - {line}" for line in kudos_lines(digest)),
                  "", EXPLAINER]
    lines += ["", freshness_line(digest)] if freshness_line(digest) else []
    return "\n".join(line.rstrip() for line in lines)
