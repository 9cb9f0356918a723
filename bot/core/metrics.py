"""Metrics: pure functions over usage and outcome facts. No I/O in here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.config.org import Policy
from bot.core.facts import OutcomeFact, UsageFact
from bot.core.prices import PriceTable, Tokens

OUTCOME_KINDS = ("pr_merged", "pr_reverted", "tickets_closed", "ticket_points")
MIN_SPEND_FOR_YIELD = 1.0


@dataclass
class PersonWeek:
    week: str
    spend_usd: float = 0.0
    tokens: Tokens = Tokens()
    outcomes: dict[str, float] = field(default_factory=lambda: dict.fromkeys(OUTCOME_KINDS, 0.0))
    outcome_points: float = 0.0
    spend_by_tier: dict[str, float] = field(default_factory=dict)
    spend_by_tool: dict[str, float] = field(default_factory=dict)
    frontier_by_model: dict[str, float] = field(default_factory=dict)  # frontier spend per (canonical) model
    model_providers: dict[str, str] = field(default_factory=dict)  # each frontier model's provider
    savings_usd: float = 0.0  # what frontier-tier work would have cost less on the standard tier
    unpriced_models: set[str] = field(default_factory=set)
    active: bool = False
    seat_cost_usd: float = 0.0  # fixed: seats prorated per UTC day (bot.core.seats)

    @property
    def cost_usd(self) -> float:
        """Metered spend plus fixed seat cost: what yield is measured against."""
        return self.spend_usd + self.seat_cost_usd

    @property
    def yield_per_100usd(self) -> float | None:
        return yield_per_100usd(self.outcome_points, self.cost_usd)

    @property
    def frontier_share(self) -> float | None:
        return self.spend_by_tier.get("frontier", 0.0) / self.spend_usd if self.spend_usd > 0 else None


def yield_per_100usd(points: float, cost: float) -> float | None:
    """The one yield rule: outcome points per $100 of cost (metered spend plus fixed seat cost, `cost_usd`);
    undefined below $1 of cost."""
    return None if cost < MIN_SPEND_FOR_YIELD else points / cost * 100


def spend_of(fact: UsageFact, prices: PriceTable) -> float | None:
    """The value the feed reported, else tokens at list price; None when the model has no price."""
    if fact.cost_usd is not None:
        return fact.cost_usd
    return prices.cost(fact.model, tokens_of(fact))


def tokens_of(fact: UsageFact) -> Tokens:
    return Tokens(fact.input_tokens, fact.output_tokens, fact.cache_read_tokens, fact.cache_write_tokens,
                  fact.cache_write_1h_tokens)


def person_week(
    week: str, usage: Iterable[UsageFact], outcomes: Iterable[OutcomeFact], policy: Policy, prices: PriceTable,
    seat_cost_usd: float = 0.0,
) -> PersonWeek:
    """One person's figures for one week, from that person's facts of that week and their seat cost."""
    result = PersonWeek(week=week, seat_cost_usd=seat_cost_usd)
    tokens: dict[str, int] = defaultdict(int)
    by_tier: dict[str, float] = defaultdict(float)
    by_tool: dict[str, float] = defaultdict(float)
    for fact in usage:
        result.active = True
        for kind, value in vars(tokens_of(fact)).items():
            tokens[kind] += value
        spend = spend_of(fact, prices)
        if spend is None:
            result.unpriced_models.add(fact.model)
            continue
        result.spend_usd += spend
        tier = prices.tier(fact.model) or "unknown"
        by_tier[tier] += spend
        by_tool[fact.tool] += spend
        if tier == "frontier":
            result.savings_usd += _saving(fact, spend, policy, prices)
            model = prices.canonical(fact.model)
            result.frontier_by_model[model] = result.frontier_by_model.get(model, 0.0) + spend
            result.model_providers[model] = fact.provider
    for outcome in outcomes:
        result.active = True
        _count_outcome(result.outcomes, outcome)
    result.tokens = Tokens(**tokens)
    result.spend_by_tier, result.spend_by_tool = dict(by_tier), dict(by_tool)
    result.outcome_points = outcome_points(result.outcomes, policy)
    return result


def _saving(fact: UsageFact, spend: float, policy: Policy, prices: PriceTable) -> float:
    standard = policy.standard_models.get(fact.provider)
    on_standard = prices.cost(standard, tokens_of(fact)) if standard else None
    return max(spend - on_standard, 0.0) if on_standard is not None else 0.0


def _count_outcome(counts: dict[str, float], outcome: OutcomeFact) -> None:
    if outcome.kind == "pr_merged":
        counts["pr_merged"] += 1
    elif outcome.kind == "pr_reverted":
        counts["pr_reverted"] += 1
    elif outcome.kind == "ticket_closed":
        counts["tickets_closed"] += 1
        counts["ticket_points"] += outcome.quantity


def outcome_points(counts: dict[str, float], policy: Policy) -> float:
    points = policy.points
    return (
        counts["pr_merged"] * points.pr_merged
        + counts["pr_reverted"] * points.pr_reverted
        + counts["ticket_points"] * points.ticket_closed
    )


def top_frontier_model(week: PersonWeek) -> str | None:
    """The frontier model that carried most of the week's frontier spend (ties: the first by name)."""
    spent = week.frontier_by_model
    return min(spent, key=lambda m: (-spent[m], m)) if spent else None


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
