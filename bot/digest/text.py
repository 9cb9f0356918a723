"""The digest as plain text, for the terminal."""

from __future__ import annotations

from bot.digest.build import Digest
from bot.digest.summary import (
    EXPLAINER,
    freshness_line,
    headline,
    kudos_lines,
    money_lines,
    signal_lines,
    suppressed_text,
)


def digest_text(digest: Digest) -> str:
    title = f"tokenworth digest · {digest.team} · week {digest.week}"
    lines = [title, "=" * len(title)]
    if digest.suppressed:
        lines.append(suppressed_text(digest))
    else:
        lines += [f"{label:<24}: {value} {delta}" for label, value, delta in headline(digest)]
        lines += [
            "",
            "Where the money went",
            *(f"  - {line}" for line in money_lines(digest)),
            "",
            "Signals (counts, never names)",
            *(f"  - {line}" for line in signal_lines(digest)),
            *(["", "Shipped this week (opted in to kudos)"] if kudos_lines(digest) else []),
            *(f"  - {line}" for line in kudos_lines(digest)),
            "",
            EXPLAINER,
        ]
    lines += ["", freshness_line(digest)]
    return "\n".join(line.rstrip() for line in lines)
