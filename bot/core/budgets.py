"""Budgets and cost-per-outcome regressions: which thresholds a month or a week has crossed, and why.

Invariant: a month-end forecast is the month's cost so far divided by the days elapsed, times the days
in the month (the daily run rate); a budget's thresholds are `warning` (actual at the warning share),
`exceeded` (actual at the budget) and `forecast` (the forecast above the budget). A regression is a
week's cost per outcome point at `factor` times the median of the trailing weeks, counting only weeks
with at least `min_points` points, and needing two of them. What drives a cost is named by workflow,
model and tool, never by person. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.metrics import median

THRESHOLDS = ("warning", "exceeded", "forecast")
MIN_HISTORY = 2


@dataclass(frozen=True)
class BudgetState:
    kind: str  # team or workflow
    name: str
    team: str  # whose manager channel hears about it
    month: str
    budget_usd: float
    actual_usd: float
    days_elapsed: int
    days_in_month: int

    @property
    def forecast_usd(self) -> float | None:
        if self.days_elapsed <= 0:
            return None
        return self.actual_usd / self.days_elapsed * self.days_in_month

    def crossed(self, warning_share: float) -> list[str]:
        found = []
        if self.actual_usd >= warning_share * self.budget_usd:
            found.append("warning")
        if self.actual_usd >= self.budget_usd:
            found.append("exceeded")
        forecast = self.forecast_usd
        if forecast is not None and forecast > self.budget_usd:
            found.append("forecast")
        return found


def shares(parts: Iterable[tuple[str, str, str, float]]) -> dict[str, dict[str, float]]:
    """A cost by workflow, model and tool; `parts` are (workflow, model, tool, USD)."""
    totals: dict[str, dict[str, float]] = {"workflow": defaultdict(float), "model": defaultdict(float),
                                           "tool": defaultdict(float)}
    for workflow, model, tool, usd in parts:
        for dimension, value in (("workflow", workflow), ("model", model), ("tool", tool)):
            totals[dimension][value] += usd
    return {dimension: dict(values) for dimension, values in totals.items()}


def drivers(by: Mapping[str, Mapping[str, float]], whole: float, top: int = 2) -> list[str]:
    """The largest shares of `whole` in each dimension, as "model gpt-5 75%, other 25%"."""
    if whole <= 0:
        return []
    found = []
    for dimension, values in by.items():
        ordered = sorted(((n, v) for n, v in values.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))[:top]
        if ordered:
            found.append(f"{dimension} " + ", ".join(f"{name} {usd / whole:.0%}" for name, usd in ordered))
    return found


def budget_text(state: BudgetState, threshold: str, why: Sequence[str]) -> str:
    subject = f"{state.kind} {state.name}"
    forecast = state.forecast_usd
    head = {
        "warning": f"AI cost of {subject} has reached {state.actual_usd / state.budget_usd:.0%} of its "
                   f"{state.month} budget",
        "exceeded": f"AI cost of {subject} has reached its {state.month} budget",
        "forecast": f"AI cost of {subject} is on course to exceed its {state.month} budget",
    }[threshold]
    lines = [f"{head}: ${state.actual_usd:,.2f} of ${state.budget_usd:,.2f} after {state.days_elapsed} of "
             f"{state.days_in_month} days."]
    if forecast is not None:
        lines.append(f"Month-end forecast at this month's daily run rate: ${forecast:,.2f} (an estimate).")
    if why:
        lines.append("What drives it: " + "; ".join(why) + ".")
    return "\n".join(lines)


@dataclass(frozen=True)
class Regression:
    kind: str
    name: str
    team: str
    week: str
    cost_per_point: float
    trailing_median: float
    weeks: int  # trailing weeks behind the median

    def text(self, why: Sequence[str]) -> str:
        lines = [f"Cost per outcome point of {self.kind} {self.name} rose to ${self.cost_per_point:,.2f} in "
                 f"{self.week}, {self.cost_per_point / self.trailing_median:.1f}× the median of the "
                 f"{self.weeks} weeks before (${self.trailing_median:,.2f})."]
        if why:
            lines.append("What drives it: " + "; ".join(why) + ".")
        return "\n".join(lines)


def regression(
    kind: str, name: str, team: str, week: str, current: tuple[float, float],
    history: Sequence[tuple[float, float]], factor: float, min_points: float,
) -> Regression | None:
    """`current` and `history` are (cost USD, outcome points) per week; None for a quiet or normal week."""
    cost, points = current
    if points < min_points or cost <= 0:
        return None
    trailing = [c / p for c, p in history if p >= min_points and c > 0]
    if len(trailing) < MIN_HISTORY:
        return None
    middle = median(trailing)
    if middle is None or cost / points < factor * middle:
        return None
    return Regression(kind, name, team, week, cost / points, middle, len(trailing))
