"""Spend linked to the outcomes it produced, per person and UTC day.

A usage record naming an outcome (ticket key, branch, commit, PR) goes to the outcomes of that name: `direct`
(a name no outcome carries counts as no name). Otherwise a person's spend on a day goes to the outcomes they had
open that day, split evenly: `window`. With neither it stays `unlinked`, never dropped. Invariants: for every
person-day, linked plus unlinked equals spend; records are grouped and summed in a canonical order, so their
order changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.core.facts import UsageFact
from bot.core.judgement_facts import UsageDay, WorkItem
from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.core.weeks import to_utc

DIRECT, WINDOW, UNLINKED = "direct", "window", "unlinked"
_Key = tuple[int, date, str, str, str]  # person, day, model, tier, folded link ("" for none)


@dataclass(frozen=True)
class Link:
    person_id: int
    day: date
    model: str
    tier: str
    amount_usd: float
    how: str  # direct, window or unlinked
    outcome: str | None = None  # the outcome's key; None when unlinked


@dataclass(frozen=True)
class OutcomeCost:
    """What an outcome cost, on what, and how its dollars were linked to it."""

    total_usd: float = 0.0
    direct_usd: float = 0.0
    window_usd: float = 0.0
    by_tier: Mapping[str, float] = field(default_factory=dict)
    by_model: Mapping[str, float] = field(default_factory=dict)
    model_tiers: Mapping[str, str] = field(default_factory=dict)  # each model's tier


@dataclass(frozen=True)
class LinkTotals:
    direct_usd: float = 0.0
    window_usd: float = 0.0
    unlinked_usd: float = 0.0

    @property
    def spend_usd(self) -> float:
        return self.direct_usd + self.window_usd + self.unlinked_usd

    def share(self, how: str) -> float | None:
        """The share of spend linked `how` (direct, window, unlinked); none without spend."""
        amount = {DIRECT: self.direct_usd, WINDOW: self.window_usd, UNLINKED: self.unlinked_usd}[how]
        return amount / self.spend_usd if self.spend_usd > 0 else None


def usage_day(fact: UsageFact, prices: PriceTable, link: str | None = None) -> UsageDay | None:
    """A counted usage fact as linkable spend; none when it belongs to nobody or has no price."""
    spend = spend_of(fact, prices)
    if fact.person_id is None or spend is None:
        return None
    return UsageDay(fact.person_id, fact.day, fact.model, prices.tier(fact.model) or "unknown", spend, link)


def link_spend(usage: Iterable[UsageDay], outcomes: Iterable[WorkItem]) -> list[Link]:
    """Every dollar of `usage` on an outcome or unlinked, sorted; `outcomes` may hold any items (non-outcomes
    such as reverts are skipped)."""
    targets = {o.key: o for o in outcomes if o.is_outcome}
    by_name = _names(targets.values())
    open_on = _open_days(targets.values())
    links: list[Link] = []
    for (person, day, model, tier, name), amount in sorted(_grouped(usage).items()):
        named = by_name.get(name, ()) if name else ()
        open_ = () if named else open_on.get((person, day), ())
        how, keys = (DIRECT, named) if named else ((WINDOW, open_) if open_ else (UNLINKED, ()))
        if not keys:
            links.append(Link(person, day, model, tier, amount, UNLINKED))
        links.extend(Link(person, day, model, tier, amount / len(keys), how, key) for key in keys)
    return links


def _grouped(usage: Iterable[UsageDay]) -> dict[_Key, float]:
    ordered = sorted(usage, key=lambda u: (u.person_id, u.day, u.model, u.tier, u.link or "", u.spend_usd))
    grouped: dict[_Key, float] = defaultdict(float)
    for u in ordered:
        grouped[(u.person_id, u.day, u.model, u.tier, (u.link or "").strip().casefold())] += u.spend_usd
    return grouped


def _names(targets: Iterable[WorkItem]) -> dict[str, tuple[str, ...]]:
    found: dict[str, set[str]] = defaultdict(set)
    for item in targets:
        for name in item.names:
            found[name].add(item.key)
    return {name: tuple(sorted(keys)) for name, keys in found.items()}


def _open_days(targets: Iterable[WorkItem]) -> dict[tuple[int, date], tuple[str, ...]]:
    """Per person and UTC day, the outcomes open: from opened (else the finish day) to finished, both included."""
    found: dict[tuple[int, date], set[str]] = defaultdict(set)
    for item in targets:
        finished = item.finished_at
        if item.person_id is None or finished is None:
            continue
        end = to_utc(finished).date()
        start = min(to_utc(item.opened_at).date(), end) if item.opened_at else end
        for offset in range((end - start).days + 1):
            found[(item.person_id, start + timedelta(days=offset))].add(item.key)
    return {key: tuple(sorted(keys)) for key, keys in found.items()}


def outcome_costs(links: Iterable[Link]) -> dict[str, OutcomeCost]:
    """Linked spend per outcome key, split by tier and model and by how it was linked."""
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    tiers: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    models: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    model_tiers: dict[str, str] = {}
    for link in sorted(links, key=_order):
        if link.outcome is None:
            continue
        sums[link.outcome][link.how] += link.amount_usd
        tiers[link.outcome][link.tier] += link.amount_usd
        models[link.outcome][link.model] += link.amount_usd
        model_tiers[link.model] = link.tier
    return {
        key: OutcomeCost(
            s[DIRECT] + s[WINDOW], s[DIRECT], s[WINDOW], dict(tiers[key]), dict(models[key]),
            {m: model_tiers[m] for m in models[key]},
        )
        for key, s in sums.items()
    }


def link_totals(links: Iterable[Link]) -> LinkTotals:
    """Spend linked directly, by window, and left unlinked: figures show the share linked each way."""
    sums: dict[str, float] = defaultdict(float)
    for link in sorted(links, key=_order):
        sums[link.how] += link.amount_usd
    return LinkTotals(sums[DIRECT], sums[WINDOW], sums[UNLINKED])


def _order(link: Link) -> tuple[object, ...]:
    return (link.person_id, link.day, link.outcome or "", link.model, link.tier, link.how, link.amount_usd)
