"""`me` as text: the same sentences for the terminal, Slack and Teams."""

from __future__ import annotations

from bot.digest.format import money, points, ratio, share
from bot.answers.me import MeReport


def me_text(report: MeReport) -> str:
    f = report.figures
    o = f.outcomes
    who = report.name or report.email
    lines = [
        f"{who} · week {report.week}",
        f"AI spend: {money(f.spend_usd)} ({f.tokens.total:,} tokens: {f.tokens.input:,} input, "
        f"{f.tokens.output:,} output, {f.tokens.cache_read:,} cache read, {f.tokens.cache_write:,} cache write)",
        f"Outcomes: {points(o['pr_merged'])} merged PRs, {points(o['pr_reverted'])} reverted, "
        f"{points(o['tickets_closed'])} tickets closed → {points(f.outcome_points)} outcome points",
        f"Yield: {ratio(f.yield_per_100usd)} points per $100"
        + ("" if f.yield_per_100usd is not None else " (needs at least $1 of spend)"),
        f"Frontier share of spend: {share(f.frontier_share)}; the standard tier would have saved {money(f.savings_usd)}",
    ]
    if f.unpriced_models:
        lines.append(f"Not priced yet (left out of spend): {', '.join(sorted(f.unpriced_models))}")
    if report.team is None:
        lines.append("Team comparison: hidden, your team is smaller than the privacy floor.")
    elif report.team.band is None:
        lines.append(f"Team median yield: {ratio(report.team.median_yield_per_100usd)} per $100 (no band for you this week).")
    else:
        lines.append(
            f"Team: you are in the {report.team.band} of {report.team.people} people on yield "
            f"(team median {ratio(report.team.median_yield_per_100usd)} per $100)."
        )
    rework = {k: v for k, v in report.rework.items() if v}
    if rework:
        lines.append("Rework: " + ", ".join(f"{points(v)} {REWORK_LABELS.get(k, k)}" for k, v in sorted(rework.items())))
    for flag in report.flags:
        lines.append(f"⚑ {flag.detail}. Tip: {flag.tip}")
    if not report.flags:
        lines.append("No flags this week.")
    return "\n".join(lines)


REWORK_LABELS = {
    "prs_reverted": "PRs reverted",
    "assistant_edits_rejected": "Claude Code edits rejected",
    "cursor_rejects": "Cursor suggestions rejected",
    "copilot_not_accepted": "Copilot suggestions not accepted",
}


def period_text(reports: tuple[MeReport, ...]) -> str:
    """Several weeks: one line each, then the totals."""
    first, last = reports[0], reports[-1]
    who = last.name or last.email
    lines = [f"{who} · weeks {first.week} to {last.week}"]
    spend = points_total = 0.0
    for report in reports:
        f = report.figures
        spend += f.spend_usd
        points_total += f.outcome_points
        lines.append(f"{report.week}: {money(f.spend_usd)} spend, {points(f.outcome_points)} points, "
                     f"yield {ratio(f.yield_per_100usd)}")
    from bot.core.metrics import yield_per_100usd

    lines.append(f"Total: {money(spend)} spend, {points(points_total)} points, yield {ratio(yield_per_100usd(points_total, spend))} per $100")
    return "\n".join(lines)
