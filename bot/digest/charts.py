"""Digest charts as PNG. Figure API only (no pyplot global state), so rendering is thread-safe.

Invariant: a digest chart draws only disclosed figures: this week's, and earlier weeks as published. A week
without figures is never drawn as zero: "no data" before the org's first data, "not published" after it. Tiers
and models are named as the text names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.core.metrics import PersonWeek
from bot.digest.build import Digest, WeekView
from bot.digest.summary import model_name, tier_name

TIER_COLOURS = {"frontier": "#c0392b", "standard": "#2980b9", "economy": "#27ae60", "unknown": "#95a5a6",
                "other": "#7f8c8d"}
SHADES = (1.0, 0.7, 0.45, 0.25)  # the models of one tier: shades of the tier's colour
NO_DATA, NOT_PUBLISHED = "no data", "not published"


def yield_trend_png(digest: Digest) -> bytes:
    return _png(yield_trend_figure(digest))


def spend_by_model_png(digest: Digest) -> bytes:
    return _png(spend_by_model_figure(digest))


def yield_trend_figure(digest: Digest) -> Figure:
    """Points per $100 each week as published, on one axis, with the team's middle yield each week."""
    labels = _labels(digest)
    values = [_or_nan(h.yield_per_100usd) for h in digest.history]
    middles = [_or_nan(h.value("median_yield_per_100usd")) for h in digest.history]
    figure = _figure()
    axes = _axes(figure)
    axes.plot(labels, values, color="#2c3e50", marker="o", linewidth=2, label="Team yield")
    axes.plot(labels, middles, color="#7f8c8d", linestyle="--", linewidth=1, label="Team middle (median)")
    axes.set_ylabel("Outcome points per $100")
    axes.set_ylim(bottom=0, top=max([v for v in values + middles if v == v] or [1.0]) * 1.2)
    _mark_gaps(axes, digest)
    _title(figure, f"{digest.team}: yield, last {len(labels)} weeks")
    figure.legend(loc="lower center", ncol=2, fontsize=8, frameon=False)
    return figure


def spend_by_model_figure(digest: Digest) -> Figure:
    """Each week's spend by model as published, each tier's models in shades of its colour (older weeks: tiers)."""
    labels = _labels(digest)
    weeks = [_model_parts(h) for h in digest.history]
    figure = _figure()
    axes = _axes(figure)
    bottom = [0.0] * len(labels)
    for (tier, model), colour in _colours({key for parts in weeks for key in parts}).items():
        values = [parts.get((tier, model), 0.0) for parts in weeks]
        axes.bar(labels, values, bottom=bottom, color=colour, label=model_label(tier, model))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel("AI spend ($)")
    _mark_gaps(axes, digest)
    _title(figure, f"{digest.team}: spend by model")
    if any(bottom):
        figure.legend(loc="lower center", ncol=4, fontsize=7, frameon=False)
    return figure


def model_label(tier: str, model: str) -> str:
    """The legend's name for a part: the text's names, so chart and text agree."""
    return tier_name(tier) if model == tier else model_name(f"{tier}|{model}")


def _model_parts(view: WeekView) -> dict[tuple[str, str], float]:
    """(tier, model) -> spend; a week published before spend by model existed shows its tiers."""
    if view.sheet is None or not view.shown:
        return {}
    models = view.sheet.parts("model")
    if models:
        return {_split(f.key.split(":", 1)[1]): f.value for f in models}
    return {(tier, tier): value for tier, value in view.spend_by_tier.items()}


def _split(part: str) -> tuple[str, str]:
    tier, _sep, model = part.partition("|")
    return (tier, model or tier)


def _colours(keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Tiers in the text's order, each tier's models in shades of its colour."""
    found: dict[tuple[str, str], str] = {}
    for tier, colour in TIER_COLOURS.items():
        models = sorted(model for t, model in keys if t == tier)
        for n, model in enumerate(models):
            found[(tier, model)] = to_hex(_shade(colour, SHADES[min(n, len(SHADES) - 1)]))
    for key in sorted(k for k in keys if k not in found):
        found[key] = TIER_COLOURS["unknown"]
    return found


def _shade(colour: str, strength: float) -> tuple[float, float, float]:
    red, green, blue = to_rgb(colour)
    return (1 - strength * (1 - red), 1 - strength * (1 - green), 1 - strength * (1 - blue))


def _mark_gaps(axes: Axes, digest: Digest) -> None:
    """Write "no data" over weeks before the org's first data and "not published" over the others without figures."""
    for first, last, note in gap_runs(gap_notes(digest)):  # one label a run: each text costs milliseconds
        axes.text((first + last) / 2, 0.5, note, ha="center", va="center", fontsize=7, color="#7f8c8d",
                  transform=axes.get_xaxis_transform())


def gap_runs(notes: list[str | None]) -> list[tuple[int, int, str]]:
    """(first, last, note) for each run of consecutive weeks with the same note."""
    runs: list[tuple[int, int, str]] = []
    for x, note in enumerate(notes):
        if note and runs and runs[-1][2] == note and runs[-1][1] == x - 1:
            runs[-1] = (runs[-1][0], x, note)
        elif note:
            runs.append((x, x, note))
    return runs


def gap_notes(digest: Digest) -> list[str | None]:
    """What each week of the history says instead of a figure: None for a week with figures."""
    return [None if view.shown else NO_DATA if digest.before_data(view) else NOT_PUBLISHED
            for view in digest.history]


def _or_nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _labels(digest: Digest) -> list[str]:
    return [f"W{h.week.number:02d}" for h in digest.history]


def _figure() -> Figure:
    """Fixed margins with room for a legend below: constrained layout took most of a chart's time."""
    figure = Figure(figsize=(7, 3.4), dpi=100)
    figure.subplots_adjust(left=0.1, right=0.9, top=0.9, bottom=0.2)
    return figure


def _title(figure: Figure, text: str) -> None:
    """The title as figure text: an axes title is re-placed against every tick label at each draw."""
    figure.text(0.5, 0.95, text, ha="center", va="center", fontsize=12)


def _axes(figure: Figure) -> Axes:
    """One axes with at most five value ticks: each tick is an artist drawn one by one."""
    axes = figure.add_subplot()
    axes.yaxis.set_major_locator(MaxNLocator(nbins=4))
    return axes


def _png(figure: Figure) -> bytes:
    buffer = BytesIO()
    # matplotlib's backend_agg module is unannotated (no .pyi), so mypy sees print_png as untyped
    # zlib level 1: a tenth of the encoding time for charts a few kB larger
    FigureCanvasAgg(figure).print_png(buffer, pil_kwargs={"compress_level": 1})  # type: ignore[no-untyped-call]
    return buffer.getvalue()


def charts_for(digest: Digest) -> list[tuple[str, str, bytes]]:
    """(file name, title, PNG) of every chart a digest carries; none when its figures are hidden."""
    if digest.suppressed:
        return []
    return [
        ("yield_trend.png", f"{digest.team}: yield, points per $100", yield_trend_png(digest)),
        ("spend_by_model.png", f"{digest.team}: spend by model", spend_by_model_png(digest)),
    ]


def person_trend_png(weeks: Sequence[PersonWeek], title: str = "Your last 8 weeks") -> bytes:
    """One person's spend (bars) and outcome points (line), for their eyes only."""
    labels = [w.week.split("-")[1] for w in weeks]
    figure = _figure()
    axes = _axes(figure)
    axes.bar(labels, [w.spend_usd for w in weeks], color="#95a5a6", label="AI spend ($)")
    axes.set_ylabel("AI spend ($)")
    points_axes = axes.twinx()
    points_axes.plot(labels, [w.outcome_points for w in weeks], color="#2c3e50", marker="o", linewidth=2,
                     label="Outcome points")
    points_axes.set_ylabel("Outcome points")
    axes.set_title(title)
    figure.legend(loc="lower center", ncol=2, fontsize=8, frameon=False)
    return _png(figure)
