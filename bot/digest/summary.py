"""Sentences every rendering of the digest shares, so Slack, Teams and the terminal say the same.

Invariant: every number in these sentences is a disclosed `Figure` of the digest (or a config value);
a line whose figure was withheld says so without a number, or is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from bot.core.disclosure import OTHER, Figure
from bot.core.model_fit import CEILING
from bot.digest.build import Digest, WeekView
from bot.digest.format import change, money, plural, points, ratio, share, tool_name
from bot.digest.reach import OTHER as OTHER_FEEDS
from bot.digest.reach import OUTCOME_FEEDS
from bot.governance import NOT_FOR_EVALUATION

EXPLAINER = (
    "Outcomes per dollar, not tokens burned. Spend is the list-price value of AI usage; "
    "outcome points come from merged PRs and closed tickets (reverts subtract). Nobody is ranked. "
    + NOT_FOR_EVALUATION
)
NO_DATA = "no usage data reached tokenworth for this week: check the feeds"
PROVISIONAL_DAYS = 2  # vendors restate their last two days of data
SUBGROUP_RULE = "shown only when at least {floor} people are in it and at least {floor} are not"
SIGNALS = {
    "frontier_heavy": "ran mostly on frontier models with a yield below the team's middle",
    "spike": "had a spend spike against their usual weeks",
}


def headline(digest: Digest) -> list[tuple[str, str, str]]:
    """(label, value, change from last week as published) for the headline figures: points, metered spend,
    with seats the cost (metered + seats) that yield is over, yield, people."""
    cur, prev = digest.current, digest.previous
    before = prev if prev is not None and prev.shown else None

    def row(label: str, key: str, text: str) -> tuple[str, str, str]:
        return label, text, change(cur.value(key), before.value(key) if before else None)

    return [
        row("Outcome points", "outcome_points", points(cur.outcome_points)),
        row("AI spend", "spend_usd", money(cur.spend_usd)),
        *cost_rows(cur, before),
        row("Yield (points per $100)", "yield_per_100usd", ratio(cur.yield_per_100usd)),
        row("People active", "people_active", str(cur.people_active)),
    ]


def cost_rows(cur: WeekView, before: WeekView | None) -> list[tuple[str, str, str]]:
    """With seats, the cost yield is measured on, apart and together (`$412.10: $374.10 metered + $38.00 seats`);
    without, nothing beyond the metered spend."""
    seats, cost = cur.value("seat_cost_usd"), cur.value("cost_usd")
    if not seats or seats < 0.005 or cost is None:
        return []
    text = f"{money(cost)}: {money(cur.spend_usd)} metered + {money(seats)} seats"
    return [("AI cost", text, change(cost, before.value("cost_usd") if before else None))]


def cost_words(cur: WeekView) -> str:
    """The week's cost in a sentence: `$374.10 of AI spend`, or with seats `$412.10 of AI cost ($374.10 metered
    + $38.00 seats)`, so a yield beside it reads against what it was measured on."""
    seats, cost = cur.value("seat_cost_usd"), cur.value("cost_usd")
    if not seats or seats < 0.005 or cost is None:
        return f"{money(cur.spend_usd)} of AI spend"
    return f"{money(cost)} of AI cost ({money(cur.spend_usd)} metered + {money(seats)} seats)"


def money_lines(digest: Digest) -> list[str]:
    rule = SUBGROUP_RULE.format(floor=digest.min_group_size)
    lines = [
        _breakdown(digest, "tier", "By model tier", tier_name, rule),
        _breakdown(digest, "model", "By model", model_name, rule),
        _breakdown(digest, "tool", "By tool", tool_name, rule),
    ]
    frontier = digest.figure("frontier_share")
    if frontier is None:
        lines.append(f"Frontier share of spend: not shown this week (the frontier tier's spend is {rule})")
    elif frontier.value:
        lines.append(f"Frontier share of spend: {share(frontier.value)}")
    lines.append(ceiling_line(digest.figure("savings_usd"), rule))
    lines.append(middle_line(digest.figure("median_yield_per_100usd"), digest.min_group_size))
    return [line for line in lines if line]


def _breakdown(digest: Digest, key: str, title: str, name: Callable[[str], str], rule: str) -> str | None:
    """A breakdown's parts; a breakdown with no spend at all is left out, not shown as zero."""
    parts = digest.parts(key)
    if parts:
        return f"{title}: " + ", ".join(f"{name(f.key.split(':', 1)[1])} {money(f.value)}" for f in parts)
    if digest.sheet is not None and digest.sheet.reason(key):
        return f"{title}: not shown this week (each part is {rule})"
    return None


def tier_name(tier: str) -> str:
    """A tier as both the text and the charts name it."""
    return {"unknown": "unknown tier", OTHER: OTHER}.get(tier, tier)


def model_name(part: str) -> str:
    """A "tier|model" part of spend by model as shown: the model, with its tier."""
    tier, _sep, model = part.partition("|")
    return f"{model} ({tier_name(tier)})" if model else tier_name(tier)


def ceiling_line(figure: Figure | None, rule: str) -> str | None:
    """The blanket price-ratio figure, only ever as the labelled ceiling it is; left out when there is none."""
    if figure is None:
        return f"Price-ratio ceiling: not shown this week (the frontier tier's spend is {rule})"
    if not figure.people or not figure.value:
        return None
    return (f"Price-ratio ceiling: {money(figure.value)} ({CEILING}; across "
            f"{plural(figure.people, 'person', 'people')}; the model-fit finding above is the estimate to act on)")


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
    if count and count.value:
        lines.append(f"{count.value:.0f} of {active} people spent at least {money(digest.spend_without_outcomes_usd)} "
                     "with no outcome points")
    held |= count is None
    for key, words in SIGNALS.items():
        found = digest.figure(f"signal:{key}")
        if found and found.value:
            lines.append(f"{found.value:.0f} of {active} people {words}")
        held |= found is None
    seats, cost = digest.figure("signal:idle_seat"), digest.figure("signal:idle_seat_cost_usd")
    if seats and cost and seats.value and cost.value:
        lines.append(f"{plural(seats.value, 'person holds', 'people hold')} a paid seat idle for over 14 days "
                     f"({money(cost.value)} a month)")
    held |= seats is None or cost is None
    if held:
        lines.append(f"Some counts are not shown this week: a count appears only when nobody, everybody, or at "
                     f"least {floor} people on each side of it could be meant")
    return lines + unpriced_lines(digest)


def unpriced_lines(digest: Digest) -> list[str]:
    """The team's models without a price: its spend leaves them out. Org-level lines go to the admin digest."""
    unpriced = digest.figure("unpriced_models")
    if unpriced and unpriced.value:
        return [f"{plural(unpriced.value, 'model has', 'models have')} no price yet and "
                f"{'is' if unpriced.value == 1 else 'are'} left out of spend"]
    return []


def kudos_lines(digest: Digest) -> list[str]:
    if digest.sheet is not None and digest.sheet.reason("kudos"):
        return [f"Names are held back this week: kudos name people only while at least {digest.min_group_size} "
                "active people stay unnamed, so that nobody can be singled out by elimination."]
    return [f"{name}: {shipped}" for name, shipped in digest.kudos]


def suppressed_text(digest: Digest) -> str:
    if not digest.has_data and not digest.withheld:
        return f"No team figures this week: {NO_DATA}."
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
    """How far each feed the team used reaches in data days, and from which day data is provisional; nothing when
    the digest shows no figures. The feeds come from the sheet, so a re-sent digest names the feeds it first did."""
    if digest.suppressed:
        return ""  # naming a small team's feeds would say who works with which tool
    published = published_line(digest.current)
    if not digest.reach:
        return published
    reach = sorted((feed_name(feed), day) for feed, day in digest.reach.items() if feed != OTHER_FEEDS)
    reach += [(feed_name(feed), day) for feed, day in digest.reach.items() if feed == OTHER_FEEDS]
    settling = min(day for _name, day in reach) - timedelta(days=PROVISIONAL_DAYS - 1)
    provisional = (f"Data days from {settling:%Y-%m-%d} on are provisional: vendors may still restate them."
                   if settling < digest.week.end else "")
    return " ".join(filter(None, [
        "Data through: " + ", ".join(f"{name} {day:%Y-%m-%d}" for name, day in reach) + ".", provisional, published,
    ]))


def feed_name(feed: str) -> str:
    if feed == OTHER_FEEDS:
        return "other feeds"
    kind, _sep, name = feed.partition(":")
    return OUTCOME_FEEDS.get(name, name) if kind == "outcomes" else tool_name(name)
