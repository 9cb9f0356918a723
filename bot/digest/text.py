"""The digest as plain text, for the terminal."""

from __future__ import annotations

from bot.digest.build import Digest
from bot.digest.format import change, money, points, ratio
from bot.digest.summary import EXPLAINER, freshness_line, money_lines, suppressed_text


def digest_text(digest: Digest) -> str:
    title = f"tokenworth digest · {digest.team} · week {digest.week}"
    lines = [title, "=" * len(title)]
    if digest.suppressed:
        lines.append(suppressed_text(digest))
    else:
        cur, prev = digest.current, digest.previous
        before = prev if prev is not None and prev.shown else None
        lines += [
            f"Outcome points : {points(cur.outcome_points)} {change(cur.outcome_points, before and before.outcome_points)}",
            f"AI spend       : {money(cur.spend_usd)} {change(cur.spend_usd, before and before.spend_usd)}",
            f"Yield per $100 : {ratio(cur.yield_per_100usd)} "
            f"{change(cur.yield_per_100usd, before and before.yield_per_100usd)}",
            f"People active  : {cur.people_active} {change(cur.people_active, before and before.people_active)}",
            "",
            "Where the money went",
            *(f"  - {line}" for line in money_lines(digest)),
            "",
            EXPLAINER,
        ]
    lines += ["", freshness_line(digest)]
    return "\n".join(line.rstrip() for line in lines)
