"""The evidence table: per work class × model tier (or model), what an outcome cost and how often it was reworked.

An outcome counts under the tier (and the model within it) that carried most of its linked spend, and only once
its rework window has closed, it has a person and it has linked spend. A cell is used only with at least
`model_fit.min_outcomes` outcomes from at least `min_group_size` distinct people: a smaller cell carries no
figures at all, only "not enough data". Correlation in the org's own data, not a controlled experiment.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config.org import ModelFit
from bot.core.linking import OutcomeCost
from bot.core.rework import Verdict
from bot.core.weeks import to_utc
from bot.core.work import SIZES, WorkClass

Z95 = 1.959963984540054  # the normal quantile for a two-sided 95% interval
TIERS = ("frontier", "standard", "economy", "unknown")  # dearest first: ties go to the dearer tier
NOT_ENOUGH = "not enough data"


@dataclass(frozen=True)
class JudgedOutcome:
    verdict: Verdict
    work_class: WorkClass
    cost: OutcomeCost

    @property
    def key(self) -> str:
        return self.verdict.key

    @property
    def tier(self) -> str | None:
        """The tier that carried most of its linked spend; none without linked spend."""
        return dominant(self.cost.by_tier, TIERS)

    @property
    def model(self) -> str | None:
        """The model that carried most of its spend on its tier."""
        on_tier = {m: v for m, v in self.cost.by_model.items() if self.cost.model_tiers.get(m) == self.tier}
        return dominant(on_tier, sorted(on_tier))


@dataclass(frozen=True)
class Figures:
    outcomes: int
    people: int
    linked_usd: float
    cost_q1: float
    cost_median: float
    cost_q3: float
    reworked: int
    rework_low: float  # 95% Wilson interval of the rework rate
    rework_high: float

    @property
    def rework_rate(self) -> float:
        return self.reworked / self.outcomes


@dataclass(frozen=True)
class Cell:
    work_class: str
    tier: str
    model: str | None  # None in the table by tier
    figures: Figures | None  # None: not enough data, and nothing about the cell is shown

    @property
    def note(self) -> str:
        return "" if self.figures else NOT_ENOUGH


def dominant(amounts: Mapping[str, float], order: Sequence[str]) -> str | None:
    """The name with the largest positive amount; ties go to the name earlier in `order`."""
    rank = {name: i for i, name in enumerate(order)}
    positive = [(-v, rank.get(k, len(rank)), k) for k, v in amounts.items() if v > 0]
    return min(positive)[2] if positive else None


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion: sound at small n and at rates near 0 or 1."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)


def quartiles(values: Iterable[float]) -> tuple[float, float, float]:
    """Lower quartile, median, upper quartile (inclusive method); a single value is all three."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0], ordered[0], ordered[0]
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return q1, median, q3


def evidence(outcomes: Iterable[JudgedOutcome], as_of: datetime) -> list[JudgedOutcome]:
    """The outcomes that may count as evidence: settled by `as_of`, with a person and linked spend."""
    as_of = to_utc(as_of)
    return [
        o for o in outcomes
        if o.verdict.settles_at <= as_of and o.verdict.person_id is not None and o.tier is not None
    ]


def evidence_table(
    outcomes: Iterable[JudgedOutcome], fit: ModelFit, min_group_size: int, as_of: datetime, by_model: bool = False
) -> list[Cell]:
    """Every cell that has outcomes, sorted by class size, tier and model."""
    groups: dict[tuple[str, str, str | None], list[JudgedOutcome]] = defaultdict(list)
    for outcome in evidence(outcomes, as_of):
        tier = outcome.tier or "unknown"
        groups[(outcome.work_class.label(fit.group_by), tier, outcome.model if by_model else None)].append(outcome)
    cells = [Cell(c, t, m, figures(group, fit, min_group_size)) for (c, t, m), group in groups.items()]
    return sorted(cells, key=_cell_order)


def figures(group: Sequence[JudgedOutcome], fit: ModelFit, min_group_size: int) -> Figures | None:
    """A cell's figures, or None below `min_outcomes` outcomes or `min_group_size` distinct people."""
    people = {o.verdict.person_id for o in group}
    if len(group) < fit.min_outcomes or len(people) < min_group_size:
        return None
    costs = sorted(o.cost.total_usd for o in group)
    reworked = sum(1 for o in group if not o.verdict.survives)
    low, high = wilson(reworked, len(group))
    q1, median, q3 = quartiles(costs)
    return Figures(len(group), len(people), math.fsum(costs), q1, median, q3, reworked, low, high)


def _cell_order(cell: Cell) -> tuple[object, ...]:
    words = cell.work_class.split(" ", 1)
    size = SIZES.index(words[0]) if words[0] in SIZES else len(SIZES)
    tier = TIERS.index(cell.tier) if cell.tier in TIERS else len(TIERS)
    return size, cell.work_class, tier, cell.tier, cell.model or ""
