"""Sentences every rendering of the digest shares, so Slack, Teams and the terminal say the same.

Invariant: every number in these sentences is a disclosed `Figure` of the digest (or a config value);
a line whose figure was withheld says so without a number, or is left out.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.core.disclosure import OTHER, Figure
from bot.digest.build import Digest, WeekView
from bot.digest.format import change, money, plural, points, ratio, share, tool_name
from bot.governance import NOT_FOR_EVALUATION

EXPLAINER = (
    "Outcomes per dollar, not tokens burned. Spend is the list-price value of AI usage; "
    "outcome points come from merged PRs and closed tickets (reverts subtract). Nobody is ranked. "
    + NOT_FOR_EVALUATION
)
SUBGROUP_RULE = "shown only when at least {floor} people are in it and at least {floor} are not"
SIGNALS = {
    "frontier_heavy": "ran mostly on frontier models with a yield below the team's middle",
    "spike": "had a spend spike against their usual weeks",
}


def headline(digest: Digest) -> list[tuple[str, str, str]]:
    """(label, value, change from last week as published) for the four headline figures."""
    cur, prev = digest.current, digest.previous
    before = prev if prev is not None and prev.shown else None

    def row(label: str, key: str, text: str) -> tuple[str, str, str]:
        return label, text, change(cur.value(key), before.value(key) if before else None)

    return [
        row("Outcome points", "outcome_points", points(cur.outcome_points)),
        row("AI spend", "spend_usd", money(cur.spend_usd)),
        row("Yield (points per $100)", "yield_per_100usd", ratio(cur.yield_per_100usd)),
        row("People active", "people_active", str(cur.people_active)),
    ]


def money_lines(digest: Digest) -> list[str]:
    rule = SUBGROUP_RULE.format(floor=digest.min_group_size)
    lines = [
        _breakdown(digest, "tier", "By model tier", _tier_name, rule),
        _breakdown(digest, "tool", "By tool", tool_name, rule),
    ]
    frontier = digest.figure("frontier_share")
    lines.append(f"Frontier share of spend: {share(frontier.value)}" if frontier else
                 f"Frontier share of spend: not shown this week (the frontier tier's spend is {rule})")
    lines.append(savings_line(digest.figure("savings_usd"), rule))
    lines.append(middle_line(digest.figure("median_yield_per_100usd"), digest.min_group_size))
    return lines


def _breakdown(digest: Digest, key: str, title: str, name: Callable[[str], str], rule: str) -> str:
    parts = digest.parts(key)
    if parts:
        return f"{title}: " + ", ".join(f"{name(f.key.split(':', 1)[1])} {money(f.value)}" for f in parts)
    if digest.sheet is not None and digest.sheet.reason(key):
        return f"{title}: not shown this week (each part is {rule})"
    return f"{title}: no spend"


def _tier_name(tier: str) -> str:
    return {"unknown": "unknown tier", OTHER: OTHER}.get(tier, tier)


def savings_line(figure: Figure | None, rule: str) -> str:
    if figure is None:
        return f"Savings estimate: not shown this week (the frontier tier's spend is {rule})"
    if not figure.people:
        return "No frontier-tier spend this week, so nothing to save by running it on the standard tier"
    return (f"Could have saved an estimated {money(figure.value)} had frontier-tier work run on the standard tier "
            "(estimate: the same tokens at the standard model's list prices, across "
            f"{plural(figure.people, 'person', 'people')}; an upper bound, since the standard tier may need more "
            "tokens or turns)")


def middle_line(figure: Figure | None, floor: int) -> str:
    if figure is None:
        return (f"Team middle yield: not shown this week (the people with a yield, and those without, must each "
                f"number at least {floor}, or everyone must have one)")
    picked = "two" if figure.people % 2 == 0 else "three"
    return (f"Team middle yield: {ratio(figure.value)} points per $100 (the mean of the middle {picked} of "
            f"{figure.people} yields, never one person's)")


def signal_lines(digest: Digest) -> list[str]:
    """Waste signals as counts out of the people active, never who; a count that could single people out is
    left out, and one line says so."""
    active, floor = digest.current.people_active, digest.min_group_size
    lines, held = [], False
    count = digest.figure("signal:spend_without_outcomes")
    if count:
        lines.append(f"{count.value:.0f} of {active} people spent at least {money(digest.spend_without_outcomes_usd)} "
                     "with no outcome points")
    held |= count is None
    for key, words in SIGNALS.items():
        found = digest.figure(f"signal:{key}")
        if found:
            lines.append(f"{found.value:.0f} of {active} people {words}")
        held |= found is None
    seats, cost = digest.figure("signal:idle_seat"), digest.figure("signal:idle_seat_cost_usd")
    if seats and cost:
        lines.append(f"{plural(seats.value, 'person holds', 'people hold')} a paid seat idle for over 14 days "
                     f"({money(cost.value)} a month)")
    held |= seats is None or cost is None
    if held:
        lines.append(f"Some counts are not shown this week: a count appears only when nobody, everybody, or at "
                     f"least {floor} people on each side of it could be meant")
    return lines + org_lines(digest)


def org_lines(digest: Digest) -> list[str]:
    lines = []
    unattributed = digest.figure("unattributed_spend_usd")
    if unattributed:
        lines.append(f"Unattributed AI spend across the org: {money(unattributed.value)} "
                     "(map it with aliases in the config)")
    unpriced = digest.figure("unpriced_models")
    if unpriced and unpriced.value:
        lines.append(f"{plural(unpriced.value, 'model has', 'models have')} no price yet and "
                     f"{'is' if unpriced.value == 1 else 'are'} left out of spend")
    billed = digest.parts("billed")
    if billed:
        text = ", ".join(f"{f.key.split(':', 1)[1]} {money(f.value)}" for f in billed)
        lines.append(f"Billed by vendors this week (org level, for reconciliation): {text}")
    return lines


def kudos_lines(digest: Digest) -> list[str]:
    if digest.sheet is not None and digest.sheet.reason("kudos"):
        return [f"Names are held back this week: kudos name people only while at least {digest.min_group_size} "
                "active people stay unnamed, so that nobody can be singled out by elimination."]
    return [f"{name}: {shipped}" for name, shipped in digest.kudos]


def suppressed_text(digest: Digest) -> str:
    if digest.withheld:
        return f"No team figures this week. {digest.withheld}"
    return (
        f"No team figures this week. Fewer than {digest.min_group_size} people were active, and tokenworth "
        f"shows team figures only for groups of at least {digest.min_group_size}, so that nobody's own numbers "
        f"can be read from them. To get a digest, merge small teams in the config (its teams list and each person's "
        f"team), or wait for more people to connect their tools."
    )


def published_line(view: WeekView) -> str:
    """When the figures were published: they stand, whatever data arrives later."""
    if view.published_at is None:
        return ""
    return (f"Figures as published on {view.published_at:%Y-%m-%d}; data that arrives later does not change "
            "them, and earlier weeks show as they were published.")


def freshness_line(digest: Digest) -> str:
    published = "" if digest.suppressed else published_line(digest.current)
    if not digest.freshness:
        return " ".join(filter(None, ["No feed has been ingested yet.", published]))
    latest = ", ".join(f"{source} {when:%Y-%m-%d %H:%M} UTC" for source, when in sorted(digest.freshness.items()))
    return " ".join(filter(None, [f"Last ingest: {latest}. Figures of the last 48 hours are provisional.", published]))
