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
    savings_usd: float = 0.0  # what frontier-tier work would have cost less on the standard tier
    unpriced_models: set[str] = field(default_factory=set)
    active: bool = False

    @property
    def yield_per_100usd(self) -> float | None:
        return yield_per_100usd(self.outcome_points, self.spend_usd)

    @property
    def frontier_share(self) -> float | None:
        return self.spend_by_tier.get("frontier", 0.0) / self.spend_usd if self.spend_usd > 0 else None


def yield_per_100usd(points: float, spend: float) -> float | None:
    """Outcome points per $100 of AI spend; undefined below $1 of spend."""
    return None if spend < MIN_SPEND_FOR_YIELD else points / spend * 100


def spend_of(fact: UsageFact, prices: PriceTable) -> float | None:
    """The value the feed reported, else tokens at list price; None when the model has no price."""
    if fact.cost_usd is not None:
        return fact.cost_usd
    return prices.cost(fact.model, tokens_of(fact))


def tokens_of(fact: UsageFact) -> Tokens:
    return Tokens(fact.input_tokens, fact.output_tokens, fact.cache_read_tokens, fact.cache_write_tokens,
                  fact.cache_write_1h_tokens)


def person_week(
    week: str, usage: Iterable[UsageFact], outcomes: Iterable[OutcomeFact], policy: Policy, prices: PriceTable
) -> PersonWeek:
    """One person's figures for one week, from that person's facts of that week."""
    result = PersonWeek(week=week)
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


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
