"""Sentences every rendering of the digest shares, so Slack, Teams and the terminal say the same."""

from __future__ import annotations

from bot.digest.build import Digest
from bot.digest.format import change, money, points, ratio, share, tool_name

EXPLAINER = (
    "Outcomes per dollar, not tokens burned. Spend is the list-price value of AI usage; "
    "outcome points come from merged PRs and closed tickets (reverts subtract). Nobody is ranked."
)


def headline(digest: Digest) -> list[tuple[str, str, str]]:
    """(label, value, change from last week) for the four headline figures."""
    cur, prev = digest.current, digest.previous
    before = prev if prev is not None and prev.shown else None
    return [
        ("Outcome points", points(cur.outcome_points),
         change(cur.outcome_points, before.outcome_points if before else None)),
        ("AI spend", money(cur.spend_usd), change(cur.spend_usd, before.spend_usd if before else None)),
        ("Yield (points per $100)", ratio(cur.yield_per_100usd),
         change(cur.yield_per_100usd, before.yield_per_100usd if before else None)),
        ("People active", str(cur.people_active), change(cur.people_active, before.people_active if before else None)),
    ]


def money_lines(digest: Digest) -> list[str]:
    cur = digest.current
    tiers = ", ".join(
        f"{'other' if tier == 'unknown' else tier} {money(v)}"
        for tier, v in sorted(cur.spend_by_tier.items(), key=lambda kv: -kv[1])
    )
    tools = ", ".join(
        f"{tool_name(tool)} {money(v)}" for tool, v in sorted(digest.spend_by_tool.items(), key=lambda kv: -kv[1])
    )
    lines = [
        f"By model tier: {tiers or 'no spend'}",
        f"By tool: {tools or 'no spend'}",
        f"Frontier share of spend: {share(digest.frontier_share)}",
        f"Could have saved {money(digest.savings_usd)} had frontier-tier work run on the standard tier",
        f"Team median yield: {ratio(digest.median_yield_per_100usd)} points per $100",
    ]
    return lines


def signal_lines(digest: Digest) -> list[str]:
    """Waste signals as counts out of the people active: never who."""
    signals, active = digest.signals, digest.current.people_active
    lines = [
        f"{signals.get('spend_without_outcomes', 0):.0f} of {active} people spent at least "
        f"{money(signals.get('spend_without_outcomes_usd'))} with no outcome points",
        f"{signals.get('frontier_heavy', 0):.0f} ran mostly on frontier models with a yield below the team median",
        f"{signals.get('spike', 0):.0f} had a spend spike against their usual weeks",
        f"{signals.get('idle_seat', 0):.0f} paid seat(s) idle for over 14 days "
        f"({money(signals.get('idle_seat_cost_usd', 0))} a month)",
        f"Unattributed AI spend across the org: {money(digest.unattributed_spend_usd)} "
        "(map it with aliases in the config)",
    ]
    if digest.unpriced_models:
        lines.append(f"{digest.unpriced_models} model(s) have no price yet and are left out of spend")
    if digest.billed_usd:
        billed = ", ".join(f"{source} {money(v)}" for source, v in sorted(digest.billed_usd.items()))
        lines.append(f"Billed by vendors this week (org level, for reconciliation): {billed}")
    return lines


def kudos_lines(digest: Digest) -> list[str]:
    return [f"{name}: {shipped}" for name, shipped in digest.kudos]


def suppressed_text(digest: Digest) -> str:
    if digest.withheld:
        return f"No team figures this week. {digest.withheld}"
    return (
        f"No team figures this week. Only {digest.current.people_active} people were active, and tokenworth "
        f"shows team figures only for groups of at least {digest.min_group_size}, so that nobody's own numbers "
        f"can be read from them. To get a digest, merge small teams in the config (its teams list and each person's "
        f"team), or wait for more people to connect their tools."
    )


def freshness_line(digest: Digest) -> str:
    if not digest.freshness:
        return "No feed has been ingested yet."
    latest = ", ".join(f"{source} {when:%Y-%m-%d %H:%M} UTC" for source, when in sorted(digest.freshness.items()))
    return f"Last ingest: {latest}. Figures of the last 48 hours are provisional."
