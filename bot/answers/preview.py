"""`preview`: which disclosure rules applied to the asker in last week's digest, line by line.

Invariant: built from the digest their manager sees (its published snapshot when there is one) and the
asker's own figures and flags; it tells the asker about themselves only, never about anyone else.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.core.disclosure import OTHER
from bot.core.metrics import PersonWeek
from bot.digest.build import Digest
from bot.digest.format import tool_name

FLAG_NAMES = {
    "spend_without_outcomes": "spend without outcome points", "frontier_heavy": "frontier-heavy",
    "spike": "spend spike", "idle_seat": "idle paid seat",
}


def rules_for(digest: Digest, person_id: int, mine: PersonWeek, flags: Collection[str]) -> tuple[str, ...]:
    """The rules that decided what the digest shows of the asker's week (nothing when it shows no figures)."""
    if digest.suppressed:
        return ()
    when = digest.current.published_at
    stands = f"These figures were published on {when:%Y-%m-%d} and stand; later data does not change them." \
        if when else "These figures are published the first time the digest is posted or a manager asks for it."
    if person_id not in digest.active_members:
        return (stands, "You are not inside them: you were not active in this team when they were published, so "
                        "nothing about your week is in this digest.")
    rules = [stands]
    rules += [_part(digest, "tool", tool, tool_name(tool)) for tool in sorted(mine.spend_by_tool)
              if mine.spend_by_tool[tool]]
    rules += [_part(digest, "tier", tier, f"{tier}-tier") for tier in sorted(mine.spend_by_tier)
              if mine.spend_by_tier[tier]]
    if mine.savings_usd > 0:
        rules.append(_shown(digest, "savings_usd", "Your price-ratio ceiling is inside the team's ceiling",
                            "The team's price-ratio ceiling is not shown"))
    if mine.yield_per_100usd is not None:
        rules.append(_shown(digest, "median_yield_per_100usd",
                            "Your yield is one of those whose middle is shown as the mean of the middle two or "
                            "three, never one person's yield", "The team's middle yield is not shown"))
    rules += [_flag(digest, flag) for flag in sorted(flags)]
    return tuple(rules)


def _part(digest: Digest, breakdown: str, name: str, label: str) -> str:
    key = f"{breakdown}:{name}"
    sheet = digest.sheet
    if sheet is None:
        return f"Your {label} spend is inside the team totals only."
    if sheet.get(key) is not None:
        return f"Your {label} spend is inside the {label} total, which covers enough people on both sides."
    held = sheet.reason(key)
    if held is not None and held.merged_into == f"{breakdown}:{OTHER}":
        return f"Your {label} spend is merged into \"other\": {held.reason}."
    if held is not None:
        return f"Your {label} spend is not broken out: {held.reason}; it is inside the team totals only."
    return f"Your {label} spend arrived after the figures were published, so it is not in them."


def _shown(digest: Digest, key: str, shown: str, withheld: str) -> str:
    sheet = digest.sheet
    held = sheet.reason(key) if sheet is not None else None
    if digest.figure(key) is not None:
        return f"{shown}."
    return f"{withheld}: {held.reason}." if held else f"{withheld}."


def _flag(digest: Digest, flag: str) -> str:
    name = FLAG_NAMES.get(flag, flag)
    count = digest.figure(f"signal:{flag}")
    if count is not None:
        return (f"Your {name} flag is counted in \"{count.value:.0f} of {digest.current.people_active}\", "
                "never with your name.")
    sheet = digest.sheet
    held = sheet.reason(f"signal:{flag}") if sheet is not None else None
    why = f": {held.reason}" if held else ""
    return (f"Your {name} flag is not counted in the digest{why} (a count is shown only when nobody, everybody, or "
            f"at least {digest.min_group_size} people on each side of it could be meant).")
