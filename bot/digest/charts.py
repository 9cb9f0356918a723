"""Digest charts as PNG. Figure API only (no pyplot global state), so rendering is thread-safe.

Invariant: a digest chart draws only disclosed figures: this week's, and earlier weeks as published.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.core.metrics import PersonWeek
from bot.digest.build import Digest

TIER_COLOURS = {"frontier": "#c0392b", "standard": "#2980b9", "economy": "#27ae60", "unknown": "#95a5a6",
                "other": "#7f8c8d"}


def spend_and_outcomes_png(digest: Digest) -> bytes:
    """Spend (bars) against outcome points (line) as published each week; weeks never published stay blank."""
    labels = _labels(digest)
    spend = [h.spend_usd or 0.0 for h in digest.history]
    outcome = [h.outcome_points if h.outcome_points is not None else float("nan") for h in digest.history]
    figure = _figure()
    axes = figure.add_subplot()
    axes.bar(labels, spend, color="#95a5a6", label="AI spend ($)")
    axes.set_ylabel("AI spend ($)")
    points_axes = axes.twinx()
    points_axes.plot(labels, outcome, color="#2c3e50", marker="o", linewidth=2, label="Outcome points")
    points_axes.set_ylabel("Outcome points")
    points_axes.set_ylim(bottom=0)
    axes.set_title(f"{digest.team}: spend against outcomes, last {len(labels)} weeks{_note(digest)}")
    figure.legend(loc="lower center", ncol=2, fontsize=8, frameon=False)
    return _png(figure)


def spend_by_tier_png(digest: Digest) -> bytes:
    """Each week's tiers as published (a tier too few people used is inside "other")."""
    labels = _labels(digest)
    figure = _figure()
    axes = figure.add_subplot()
    bottom = [0.0] * len(labels)
    for tier, colour in TIER_COLOURS.items():
        values = [h.spend_by_tier.get(tier, 0.0) for h in digest.history]
        if any(values):
            axes.bar(labels, values, bottom=bottom, color=colour, label=tier)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("AI spend ($)")
    axes.set_title(f"{digest.team}: spend by model tier{_note(digest)}")
    if any(bottom):
        figure.legend(loc="lower center", ncol=5, fontsize=8, frameon=False)
    return _png(figure)


def _labels(digest: Digest) -> list[str]:
    """Week labels; a week with no published figures is starred (see `_note`)."""
    return [f"W{h.week.number:02d}" + ("" if h.shown else "*") for h in digest.history]


def _note(digest: Digest) -> str:
    return "" if all(h.shown for h in digest.history) else " (* not published)"


def _figure() -> Figure:
    """Fixed margins with room for a legend below: constrained layout took most of a chart's time."""
    figure = Figure(figsize=(7, 3.4), dpi=100)
    figure.subplots_adjust(left=0.1, right=0.9, top=0.9, bottom=0.2)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    # matplotlib's backend_agg module is unannotated (no .pyi), so mypy sees print_png as untyped
    FigureCanvasAgg(figure).print_png(buffer)  # type: ignore[no-untyped-call]
    return buffer.getvalue()


def charts_for(digest: Digest) -> list[tuple[str, str, bytes]]:
    """(file name, title, PNG) of every chart a digest carries; none when its figures are hidden."""
    if digest.suppressed:
        return []
    return [
        ("spend_vs_outcomes.png", f"{digest.team}: spend against outcomes", spend_and_outcomes_png(digest)),
        ("spend_by_tier.png", f"{digest.team}: spend by model tier", spend_by_tier_png(digest)),
    ]


def person_trend_png(weeks: Sequence[PersonWeek], title: str = "Your last 8 weeks") -> bytes:
    """One person's spend (bars) and outcome points (line), for their eyes only."""
    labels = [w.week.split("-")[1] for w in weeks]
    figure = _figure()
    axes = figure.add_subplot()
    axes.bar(labels, [w.spend_usd for w in weeks], color="#95a5a6", label="AI spend ($)")
    axes.set_ylabel("AI spend ($)")
    points_axes = axes.twinx()
    points_axes.plot(labels, [w.outcome_points for w in weeks], color="#2c3e50", marker="o", linewidth=2,
                     label="Outcome points")
    points_axes.set_ylabel("Outcome points")
    axes.set_title(title)
    figure.legend(loc="lower center", ncol=2, fontsize=8, frameon=False)
    return _png(figure)
